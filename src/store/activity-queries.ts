import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { CallOutcome } from './activity-log.js';

/** A recorded 2025-era session. */
export interface SessionView {
  id: string;
  clientName: string | null;
  clientVersion: string | null;
  protocolVersion: string | null;
  capabilities: unknown;
  userAgent: string | null;
  remoteAddress: string | null;
  principal: string | null;
  openedAt: string;
  lastSeenAt: string;
  closedAt: string | null;
  closeReason: string | null;
}

/** A 2026-era client, grouped by principal, name and version. */
export interface ClientView {
  key: string;
  principal: string | null;
  clientName: string | null;
  clientVersion: string | null;
  protocolVersion: string | null;
  userAgent: string | null;
  remoteAddress: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  requests: number;
}

export interface RequestView {
  id: number;
  sessionId: string | null;
  clientKey: string | null;
  /** The profile it came through; null for the root /mcp and the REST API. */
  profile: string | null;
  server: string | null;
  tool: string;
  startedAt: string;
  durationMs: number;
  outcome: CallOutcome;
  error: string | null;
  bytesIn: number;
  bytesOut: number;
  coldStart: boolean;
}

export interface RequestFilter {
  readonly server?: string | undefined;
  readonly tool?: string | undefined;
  readonly outcome?: CallOutcome | undefined;
  readonly session?: string | undefined;
  readonly profile?: string | undefined;
  /** ISO time: only requests started at or after it. */
  readonly since?: string | undefined;
  /** Pagination: only requests with a smaller id (the previous page's `nextBefore`). */
  readonly before?: number | undefined;
  /** Only requests with a greater id: what came since a reader last looked (the newest id it has). */
  readonly after?: number | undefined;
  readonly limit: number;
}

interface SessionRow {
  id: string;
  client_name: string | null;
  client_version: string | null;
  protocol_version: string | null;
  capabilities: string | null;
  user_agent: string | null;
  remote_address: string | null;
  principal: string | null;
  opened_at: string;
  last_seen_at: string;
  closed_at: string | null;
  close_reason: string | null;
}

interface ClientRow {
  key: string;
  principal: string | null;
  client_name: string | null;
  client_version: string | null;
  protocol_version: string | null;
  user_agent: string | null;
  remote_address: string | null;
  first_seen_at: string;
  last_seen_at: string;
  requests: number;
}

interface RequestRow {
  id: number;
  session_id: string | null;
  client_key: string | null;
  profile: string | null;
  server_id: string | null;
  tool: string;
  started_at: string;
  duration_ms: number;
  outcome: CallOutcome;
  error: string | null;
  bytes_in: number;
  bytes_out: number;
  cold: number;
}

/** How long one write check's answer stands: `/readyz` is unauthenticated and must not force a commit each hit. */
const WRITE_CHECK_TTL_MS = 1_000;

/** Read-only views of the activity records, for the REST API. */
export class ActivityQueries {
  private lastWriteCheck: { at: number; problem: string | undefined } | undefined;

  /** `now` is the clock the write check's cache is measured on (injected by tests). */
  constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => number = Date.now
  ) {}

  /** Open sessions first, then the most recently seen closed ones. */
  sessions(limit: number, state: 'open' | 'closed' | 'all' = 'all'): SessionView[] {
    const where =
      state === 'open' ? 'WHERE closed_at IS NULL' : state === 'closed' ? 'WHERE closed_at IS NOT NULL' : '';
    const rows = this.db
      .prepare(`SELECT * FROM sessions ${where} ORDER BY closed_at IS NOT NULL, last_seen_at DESC LIMIT ?`)
      .all(limit) as unknown as SessionRow[];
    return rows.map(sessionView);
  }

  session(id: string): SessionView | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as unknown as
      SessionRow | undefined;
    return row && sessionView(row);
  }

  /** 2026-era clients, most recently seen first. */
  clients(limit: number): ClientView[] {
    const rows = this.db
      .prepare('SELECT * FROM clients ORDER BY last_seen_at DESC LIMIT ?')
      .all(limit) as unknown as ClientRow[];
    return rows.map(row => ({
      key: row.key,
      principal: row.principal,
      clientName: row.client_name,
      clientVersion: row.client_version,
      protocolVersion: row.protocol_version,
      userAgent: row.user_agent,
      remoteAddress: row.remote_address,
      firstSeenAt: row.first_seen_at,
      lastSeenAt: row.last_seen_at,
      requests: row.requests
    }));
  }

  /** Newest first. */
  requests(filter: RequestFilter): RequestView[] {
    const clauses: string[] = [];
    const values: SQLInputValue[] = [];
    const add = (clause: string, value: SQLInputValue | undefined) => {
      if (value === undefined) return;
      clauses.push(clause);
      values.push(value);
    };
    add('server_id = ?', filter.server);
    add('tool = ?', filter.tool);
    add('outcome = ?', filter.outcome);
    add('session_id = ?', filter.session);
    add('profile = ?', filter.profile);
    // Stored times are UTC ISO strings with milliseconds; compare like with like.
    add('started_at >= ?', filter.since === undefined ? undefined : new Date(filter.since).toISOString());
    add('id < ?', filter.before);
    add('id > ?', filter.after);
    const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.db
      .prepare(`SELECT * FROM requests ${where} ORDER BY id DESC LIMIT ?`)
      .all(...values, filter.limit) as unknown as RequestRow[];
    return rows.map(row => ({
      id: row.id,
      sessionId: row.session_id,
      clientKey: row.client_key,
      profile: row.profile,
      server: row.server_id,
      tool: row.tool,
      startedAt: row.started_at,
      durationMs: row.duration_ms,
      outcome: row.outcome,
      error: row.error,
      bytesIn: row.bytes_in,
      bytesOut: row.bytes_out,
      coldStart: row.cold === 1
    }));
  }

  /**
   * Why the store cannot commit a write now (a full disk, a read-only file or connection), or
   * undefined when it can. It commits one tiny row: a rolled-back write reaches no disk, so only a
   * committed one tells. The answer is reused for a second, so callers (an unauthenticated probe)
   * cannot force more than one commit a second.
   */
  writeProblem(): string | undefined {
    const now = this.now();
    const last = this.lastWriteCheck;
    if (last && now - last.at >= 0 && now - last.at < WRITE_CHECK_TTL_MS) return last.problem;
    let problem: string | undefined;
    try {
      this.db
        .prepare(
          'INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'
        )
        .run(new Date(now).toISOString());
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    this.lastWriteCheck = { at: now, problem };
    return problem;
  }
}

function sessionView(row: SessionRow): SessionView {
  let capabilities: unknown = null;
  try {
    capabilities = JSON.parse(row.capabilities ?? 'null');
  } catch {
    // left null
  }
  return {
    id: row.id,
    clientName: row.client_name,
    clientVersion: row.client_version,
    protocolVersion: row.protocol_version,
    capabilities,
    userAgent: row.user_agent,
    remoteAddress: row.remote_address,
    principal: row.principal,
    openedAt: row.opened_at,
    lastSeenAt: row.last_seen_at,
    closedAt: row.closed_at,
    closeReason: row.close_reason
  };
}
