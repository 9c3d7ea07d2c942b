import type { DatabaseSync } from 'node:sqlite';
import { inTransaction } from './database.js';

/** How a call ended. */
export const CALL_OUTCOMES = ['ok', 'tool_error', 'protocol_error', 'timeout', 'cancelled'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Why a session ended. */
export type CloseReason = 'deleted' | 'expired' | 'evicted' | 'shutdown' | 'closed';

/** Who a client says it is: from `initialize` (2025 era) or each request's `_meta` (2026 era). */
export interface ClientIdentity {
  readonly name: string | undefined;
  readonly version: string | undefined;
  readonly protocolVersion: string | undefined;
  readonly userAgent: string | undefined;
  readonly remoteAddress: string | undefined;
  /** The authenticated principal, when there is one. */
  readonly principal: string | undefined;
}

export interface SessionOpened extends ClientIdentity {
  readonly id: string;
  readonly capabilities: unknown;
  readonly at: number;
}

/** One finished `tools/call`. */
export interface RequestRecord {
  readonly sessionId: string | undefined;
  /** For 2026-era (sessionless) calls: the client, grouped by principal, name and version. */
  readonly clientKey: string | undefined;
  /** The profile the call came through (`/mcp/<profile>`); none for the root and the REST API. */
  readonly profile?: string | undefined;
  readonly serverId: string | undefined;
  readonly tool: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: CallOutcome;
  readonly error: string | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly cold: boolean;
}

export interface ActivityLogOptions {
  /** Writes are gathered and committed in one transaction this often. */
  readonly flushIntervalMs?: number;
  /** Called with each failed flush and how many records it held; the batch is dropped (memory stays bounded). */
  readonly onWriteFailure?: (error: unknown, dropped: number) => void;
}

interface Pending {
  opened: SessionOpened[];
  seen: Map<string, number>;
  closed: { id: string; reason: CloseReason; at: number }[];
  clients: Map<string, ClientIdentity & { firstAt: number; at: number; requests: number }>;
  requests: RequestRecord[];
}

/** Past this many queued records, older ones are dropped rather than memory growing. */
const MAX_PENDING_REQUESTS = 50_000;
/** Past this many distinct clients in one interval, new ones wait for the next (names are the client's to choose). */
const MAX_PENDING_CLIENTS = 10_000;

/** The key 2026-era clients are grouped by. */
export function clientKeyOf(identity: Pick<ClientIdentity, 'principal' | 'name' | 'version'>): string {
  return `${identity.principal ?? ''}|${identity.name ?? ''}|${identity.version ?? ''}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Sessions, sessionless clients and finished calls, recorded in the state database.
 *
 * Writes never block or fail a call: each one is queued in memory and committed with the others
 * in one transaction every `flushIntervalMs`, so a crash loses at most the last interval. A failed
 * flush is reported through `onWriteFailure` and its batch dropped. Reads go straight to the
 * database (flush first when a read must see the latest writes).
 */
export class ActivityLog {
  private pending: Pending = emptyPending();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: DatabaseSync,
    private readonly options: ActivityLogOptions = {}
  ) {
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  sessionOpened(session: SessionOpened): void {
    this.pending.opened.push(session);
  }

  /** The heartbeat: every request of a session calls it. */
  sessionSeen(id: string, at = Date.now()): void {
    this.pending.seen.set(id, Math.max(at, this.pending.seen.get(id) ?? 0));
  }

  sessionClosed(id: string, reason: CloseReason, at = Date.now()): void {
    this.pending.closed.push({ id, reason, at });
  }

  /** A 2026-era request from `identity`; returns the key its calls are recorded under. */
  clientSeen(identity: ClientIdentity, at = Date.now()): string {
    const key = clientKeyOf(identity);
    const previous = this.pending.clients.get(key);
    if (!previous && this.pending.clients.size >= MAX_PENDING_CLIENTS) return key;
    this.pending.clients.set(key, {
      ...identity,
      firstAt: Math.min(at, previous?.firstAt ?? at),
      at: Math.max(at, previous?.at ?? at),
      requests: (previous?.requests ?? 0) + 1
    });
    return key;
  }

  requestFinished(record: RequestRecord): void {
    if (this.pending.requests.length >= MAX_PENDING_REQUESTS) this.pending.requests.shift();
    this.pending.requests.push(record);
  }

  /** Commits everything queued in one transaction. Never throws. */
  flush(): void {
    const batch = this.pending;
    if (isEmpty(batch)) return;
    this.pending = emptyPending();
    try {
      inTransaction(this.db, () => this.write(batch));
    } catch (error) {
      this.options.onWriteFailure?.(error, recordsIn(batch));
    }
  }

  private write(batch: Pending): void {
    const open = this.db.prepare(
      `INSERT OR REPLACE INTO sessions (id, client_name, client_version, protocol_version, capabilities,
         user_agent, remote_address, principal, opened_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
    );
    for (const s of batch.opened) {
      open.run(
        s.id,
        s.name ?? null,
        s.version ?? null,
        s.protocolVersion ?? null,
        JSON.stringify(s.capabilities ?? null),
        s.userAgent ?? null,
        s.remoteAddress ?? null,
        s.principal ?? null,
        iso(s.at),
        iso(s.at)
      );
    }
    const seen = this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?');
    for (const [id, at] of batch.seen) seen.run(iso(at), id, iso(at));
    const close = this.db.prepare(
      'UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ? AND closed_at IS NULL'
    );
    for (const c of batch.closed) close.run(iso(c.at), c.reason, c.id);
    const client = this.db.prepare(
      `INSERT INTO clients (key, principal, client_name, client_version, protocol_version, user_agent,
         remote_address, first_seen_at, last_seen_at, requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET last_seen_at = excluded.last_seen_at,
         protocol_version = excluded.protocol_version, user_agent = excluded.user_agent,
         remote_address = excluded.remote_address, requests = requests + excluded.requests`
    );
    for (const [key, c] of batch.clients) {
      client.run(
        key,
        c.principal ?? null,
        c.name ?? null,
        c.version ?? null,
        c.protocolVersion ?? null,
        c.userAgent ?? null,
        c.remoteAddress ?? null,
        iso(c.firstAt),
        iso(c.at),
        c.requests
      );
    }
    const request = this.db.prepare(
      `INSERT INTO requests (session_id, client_key, server_id, tool, started_at, duration_ms, outcome, error,
         bytes_in, bytes_out, cold, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
    );
    for (const r of batch.requests) {
      request.run(
        r.sessionId ?? null,
        r.clientKey ?? null,
        r.serverId ?? null,
        r.tool,
        iso(r.startedAt),
        r.durationMs,
        r.outcome,
        r.error ?? null,
        r.bytesIn,
        r.bytesOut,
        r.cold ? 1 : 0,
        r.profile ?? null
      );
    }
  }

  /**
   * Deletes records older than `retentionDays` and requests beyond the newest `maxRequests`.
   * Returns how many requests went.
   */
  prune(retentionDays: number, maxRequests: number, now = Date.now()): number {
    const cutoff = iso(now - retentionDays * 86_400_000);
    const old = this.db.prepare('DELETE FROM requests WHERE started_at < ?').run(cutoff);
    const excess = this.db
      .prepare('DELETE FROM requests WHERE id <= (SELECT id FROM requests ORDER BY id DESC LIMIT 1 OFFSET ?)')
      .run(maxRequests);
    this.db.prepare('DELETE FROM sessions WHERE closed_at IS NOT NULL AND closed_at < ?').run(cutoff);
    this.db.prepare('DELETE FROM clients WHERE last_seen_at < ?').run(cutoff);
    return Number(old.changes) + Number(excess.changes);
  }

  /** Stops the timer after a last flush. Sessions still open are left as they are. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

function emptyPending(): Pending {
  return { opened: [], seen: new Map(), closed: [], clients: new Map(), requests: [] };
}

function recordsIn(batch: Pending): number {
  return (
    batch.opened.length + batch.seen.size + batch.closed.length + batch.clients.size + batch.requests.length
  );
}

function isEmpty(batch: Pending): boolean {
  return recordsIn(batch) === 0;
}
