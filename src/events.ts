import type { ReloadResult } from './config-reloader.js';

/** What `/api/events` streams: server state changes, sessions opening and closing, calls finishing, reloads. */
export type GatewayEvent =
  | { readonly type: 'server_state'; readonly server: string; readonly state: string; readonly at: string }
  | {
      readonly type: 'session_opened';
      readonly session: string;
      readonly client: string | undefined;
      readonly at: string;
    }
  | {
      readonly type: 'session_closed';
      readonly session: string;
      readonly reason: string;
      readonly at: string;
    }
  /** servers.yaml was reloaded (`ok`) or refused (`problems`); `GET /api/reload` has the whole result. */
  | ({ readonly type: 'config_reloaded' } & Pick<
      ReloadResult,
      'ok' | 'trigger' | 'added' | 'changed' | 'removed' | 'problems' | 'at'
    >)
  /** An item a server lists differs from what was approved (or is new under trust: manual): held back. */
  | {
      readonly type: 'definition_quarantined';
      readonly server: string;
      readonly kind: string;
      readonly item: string;
      readonly reason: 'changed' | 'new';
      /** The top-level fields that differ. */
      readonly fields: readonly string[];
      readonly at: string;
    }
  /** A Docker server's image tag now names another image id than the approved one. */
  | {
      readonly type: 'image_changed';
      readonly server: string;
      readonly image: string;
      readonly from: string;
      readonly to: string;
      /** Held until approved (trust: manual). */
      readonly held: boolean;
      readonly at: string;
    }
  /** Held items were approved (`kind:name` each); they are served again. */
  | {
      readonly type: 'definitions_approved';
      readonly server: string;
      readonly items: readonly string[];
      readonly by: string | null;
      readonly at: string;
    }
  | {
      readonly type: 'request_finished';
      readonly server: string | undefined;
      readonly tool: string;
      readonly outcome: string;
      readonly durationMs: number;
      readonly session: string | undefined;
      readonly at: string;
    };

/**
 * A small synchronous fan-out of gateway events to live listeners (the SSE streams). Publishing
 * with no listener costs a size check; a listener that throws is dropped, never the publisher.
 */
export class EventHub {
  private readonly listeners = new Set<(event: GatewayEvent) => void>();

  get size(): number {
    return this.listeners.size;
  }

  subscribe(listener: (event: GatewayEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: GatewayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }
}
