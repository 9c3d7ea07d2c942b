import { LOG_LEVEL_META_KEY, type LoggingLevel, type Server } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import type { LogHandler, LogMessage } from '../upstream/log-relay.js';

/** The levels from least to most severe: a threshold admits itself and everything after it. */
const LEVELS: readonly LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency'
];

/** Whether a message at `level` reaches a client that asked for `threshold` and above. */
export function admits(threshold: LoggingLevel, level: LoggingLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold);
}

/** What one request wants of the logs of the server it reaches. */
export interface RequestLogging {
  /** The level to ask a 2026-era server for in the request's `_meta` (none: it sends none). */
  readonly level: LoggingLevel | undefined;
  /** Relays the messages at or above `level` on the request's own stream. */
  readonly onlog: LogHandler | undefined;
}

/**
 * What a request wants of the server's logs: a 2026-era request the level in its `_meta`
 * (`io.modelcontextprotocol/logLevel`), none without one; a 2025-era session's request the level
 * the session set with `logging/setLevel`, or every message when it set none (what a server does
 * for a client that never asked).
 */
export function requestLogging(
  ctx: {
    sessionId?: string | undefined;
    mcpReq: {
      envelope?: unknown;
      notify(notification: { method: 'notifications/message'; params: LogMessage }): Promise<void>;
    };
  },
  sessionLevel: LoggingLevel | undefined
): RequestLogging {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const level =
    envelope && ctx.sessionId === undefined
      ? (envelope[LOG_LEVEL_META_KEY] as LoggingLevel | undefined)
      : (sessionLevel ?? 'debug');
  if (level === undefined) return { level, onlog: undefined };
  return {
    level,
    onlog: message => {
      if (!admits(level, message.level)) return;
      ctx.mcpReq.notify({ method: 'notifications/message', params: message }).catch(() => undefined);
    }
  };
}

/**
 * The levels 2025-era sessions set with `logging/setLevel`, for the messages a server sends while
 * serving no request: each goes to every session that set a level at or below the message's and
 * may use that server. A session that set no level gets none of them; a 2026-era client never does
 * (its logs travel only on its requests' streams).
 */
export class SessionLogLevels {
  private readonly levels = new Map<Server, { level: LoggingLevel; principal: Principal | undefined }>();
  private readonly changeListeners = new Set<(server: Server) => void>();

  /** @param allows whether `principal` may use the server `serverId` (its token's scope). */
  constructor(private readonly allows: (principal: Principal | undefined, serverId: string) => boolean) {}

  /** Records the level a session's `server` set; forgotten when the server closes. */
  set(server: Server, level: LoggingLevel, principal: Principal | undefined): void {
    if (!this.levels.has(server)) {
      const previous = server.onclose;
      server.onclose = () => {
        this.levels.delete(server);
        previous?.();
      };
    }
    this.levels.set(server, { level, principal });
    for (const listener of this.changeListeners) listener(server);
  }

  /** Tells `listener` of each level a session's server sets, as it is set (before it is answered). */
  onChange(listener: (server: Server) => void): void {
    this.changeListeners.add(listener);
  }

  /** The level a session's `server` set, if it set one. */
  levelOf(server: Server): LoggingLevel | undefined {
    return this.levels.get(server)?.level;
  }

  /** Sends `message`, which server `serverId` sent with no request in flight, to the sessions that want it. */
  broadcast(serverId: string, message: LogMessage): void {
    for (const [server, { level, principal }] of this.levels) {
      if (!admits(level, message.level) || !this.allows(principal, serverId)) continue;
      server.notification({ method: 'notifications/message', params: message }).catch(() => undefined);
    }
  }
}
