import type { Server } from '@modelcontextprotocol/server';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionState, SessionStore, StoredSession } from '../store/session-store.js';

/**
 * When the 2025-era sessions are written to the {@link SessionStore}, so that they survive a
 * restart: a row at `initialize`; its state (log level, subscriptions) when a request changed it,
 * found by comparing with what was last written, so a request that changes nothing writes nothing;
 * last-seen times gathered and written in one batch by {@link flushSeen}; the row deleted when the
 * session ends, except at shutdown. A failed write is logged and costs only that session's survival
 * of a restart: it never fails a request.
 */
export class KeptSessions {
  /** Each kept session's state as last written (JSON). */
  private readonly written = new Map<string, string>();
  /** Last-seen times not yet written. */
  private readonly unsavedSeen = new Map<string, number>();

  /**
   * @param stateOf the state a session's server holds now
   * @param timeoutMs how long a session may go unseen; those stored longer ago are deleted now
   */
  constructor(
    private readonly store: SessionStore,
    private readonly stateOf: (server: Server) => SessionState,
    private readonly log: Logger,
    private readonly timeoutMs: number
  ) {
    this.write('forget the sessions that expired while the gateway was down', () => {
      const expired = store.deleteSeenBefore(Date.now() - timeoutMs);
      if (expired > 0) log.info({ sessions: expired }, 'stored sessions expired while the gateway was down');
    });
  }

  /** Keeps a session its client has just initialized with `initialize` (the request's body). */
  opened(id: string, principal: string | undefined, initialize: unknown, at: number, profile?: string): void {
    const params = (
      initialize as { params?: { clientInfo?: unknown; capabilities?: unknown; protocolVersion?: string } }
    ).params;
    const state: SessionState = { logLevel: undefined, subscriptions: [] };
    this.written.set(id, JSON.stringify(state));
    this.write('store a new session', () =>
      this.store.save({
        id,
        principal,
        profile,
        clientInfo: params?.clientInfo,
        capabilities: params?.capabilities,
        protocolVersion: params?.protocolVersion ?? '',
        ...state,
        createdAt: at,
        lastSeenAt: at
      })
    );
  }

  /**
   * The stored session `id`, if `principal` may have it rebuilt: undefined when it is not stored,
   * expired while the gateway was down (then deleted), or was opened by another principal (then
   * logged as refused).
   */
  find(id: string, principal: string | undefined): StoredSession | undefined {
    let stored: StoredSession | undefined;
    try {
      stored = this.store.get(id);
    } catch (error) {
      this.log.warn({ err: describeError(error), session: id }, 'could not read a stored session');
      return undefined;
    }
    if (!stored) return undefined;
    if (stored.principal !== principal) {
      this.log.warn(
        { session: id, principal: principal ?? null },
        'refused a stored session presented by a principal other than the one that opened it'
      );
      return undefined;
    }
    if (stored.lastSeenAt < Date.now() - this.timeoutMs) {
      this.write('forget an expired session', () => this.store.delete(id));
      this.log.info({ session: id }, 'session expired while the gateway was down');
      return undefined;
    }
    return stored;
  }

  /** Keeps on a session rebuilt from `stored` on `server` (writing what of its state was not restored). */
  restored(stored: StoredSession, server: Server): void {
    this.written.set(
      stored.id,
      JSON.stringify({ logLevel: stored.logLevel, subscriptions: stored.subscriptions })
    );
    this.changed(stored.id, server);
  }

  /** Writes the state of session `id` if it changed since last written. */
  changed(id: string, server: Server): void {
    const before = this.written.get(id);
    if (before === undefined) return;
    const state = this.stateOf(server);
    const json = JSON.stringify(state);
    if (json === before) return;
    this.written.set(id, json);
    this.write('store the state of a session', () => this.store.setState(id, state));
  }

  /** Notes that session `id` was used at `at`; written by the next {@link flushSeen}. */
  seen(id: string, at: number): void {
    if (this.written.has(id)) this.unsavedSeen.set(id, at);
  }

  /** Writes the last-seen times noted since the last flush, in one transaction. */
  flushSeen(): void {
    if (this.unsavedSeen.size === 0) return;
    const seen = new Map(this.unsavedSeen);
    this.unsavedSeen.clear();
    this.write('store when sessions were last seen', () => this.store.touch(seen));
  }

  /** Forgets session `id`: it ended (`stored`: deleted from the store too), or the gateway shuts down. */
  release(id: string, stored: 'delete' | 'keep'): void {
    this.unsavedSeen.delete(id);
    if (!this.written.delete(id) || stored === 'keep') return;
    this.write('remove an ended session from the store', () => this.store.delete(id));
  }

  private write(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.log.warn(
        { err: describeError(error) },
        `could not ${what} in the state database: 2025-era sessions may not survive a restart`
      );
    }
  }
}
