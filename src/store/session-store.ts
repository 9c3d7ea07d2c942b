import type { DatabaseSync } from 'node:sqlite';
import { inTransaction } from './database.js';

/** What a 2025-era session needs to be rebuilt after a restart, without a new `initialize`. */
export interface StoredSession {
  readonly id: string;
  /** Who opened it (the principal id); only that principal may use it again. */
  readonly principal: string | undefined;
  /** The profile it was opened on (`/mcp/<profile>`); undefined: the root `/mcp`. */
  readonly profile?: string | undefined;
  /** The `clientInfo` its `initialize` sent. */
  readonly clientInfo: unknown;
  /** The `capabilities` its `initialize` sent. */
  readonly capabilities: unknown;
  /** The `protocolVersion` its `initialize` asked for. */
  readonly protocolVersion: string;
  /** The level its last `logging/setLevel` set; none: it set none. */
  readonly logLevel: string | undefined;
  /** The exposed URIs it is subscribed to. */
  readonly subscriptions: readonly string[];
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Epoch milliseconds; written in batches (see {@link SessionStore.touch}), so it may lag a little. */
  readonly lastSeenAt: number;
}

/** The state a session changes after it opened. */
export type SessionState = Pick<StoredSession, 'logLevel' | 'subscriptions'>;

interface Row {
  id: string;
  principal: string | null;
  profile: string | null;
  client_info: string;
  capabilities: string;
  protocol_version: string;
  log_level: string | null;
  subscriptions: string;
  created_at: number;
  last_seen_at: number;
}

/**
 * The live 2025-era sessions, kept so that they survive a restart of the gateway. A row is written
 * when its session is initialized and when its state changes; last-seen times are written in
 * batches, never once per request; the row goes when the session is deleted, evicted or expires
 * (not when the gateway shuts down). Every method throws the database's error: the caller decides
 * what a failed write costs.
 */
export class SessionStore {
  constructor(private readonly db: DatabaseSync) {}

  save(session: StoredSession): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO session_state (id, principal, client_info, capabilities, protocol_version,
           log_level, subscriptions, created_at, last_seen_at, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      )
      .run(
        session.id,
        session.principal ?? null,
        JSON.stringify(session.clientInfo ?? null),
        JSON.stringify(session.capabilities ?? {}),
        session.protocolVersion,
        session.logLevel ?? null,
        JSON.stringify(session.subscriptions),
        session.createdAt,
        session.lastSeenAt,
        session.profile ?? null
      );
  }

  get(id: string): StoredSession | undefined {
    const row = this.db.prepare('SELECT * FROM session_state WHERE id = ?').get(id) as Row | undefined;
    return row && view(row);
  }

  /** Records the state session `id` changed to. */
  setState(id: string, state: SessionState): void {
    this.db
      .prepare('UPDATE session_state SET log_level = ?, subscriptions = ? WHERE id = ?')
      .run(state.logLevel ?? null, JSON.stringify(state.subscriptions), id);
  }

  /** Records when each session was last seen, in one transaction; a time never moves back. */
  touch(seen: ReadonlyMap<string, number>): void {
    if (seen.size === 0) return;
    const update = this.db.prepare(
      'UPDATE session_state SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?'
    );
    inTransaction(this.db, () => {
      for (const [id, at] of seen) update.run(at, id, at);
    });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM session_state WHERE id = ?').run(id);
  }

  /** Deletes the sessions last seen before `cutoff` (epoch ms); returns how many went. */
  deleteSeenBefore(cutoff: number): number {
    return Number(this.db.prepare('DELETE FROM session_state WHERE last_seen_at < ?').run(cutoff).changes);
  }
}

function view(row: Row): StoredSession {
  return {
    id: row.id,
    principal: row.principal ?? undefined,
    profile: row.profile ?? undefined,
    clientInfo: JSON.parse(row.client_info) as unknown,
    capabilities: JSON.parse(row.capabilities) as unknown,
    protocolVersion: row.protocol_version,
    logLevel: row.log_level ?? undefined,
    subscriptions: JSON.parse(row.subscriptions) as string[],
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at
  };
}
