import type { DatabaseSync } from 'node:sqlite';

/** What the audit table records. */
export const AUDIT_EVENTS = [
  'auth_failed',
  'token_created',
  'token_revoked',
  'client_registered',
  'consent_approved',
  'consent_denied',
  'grant_revoked',
  'admin_password_set',
  'admin_action',
  'definition_quarantined',
  'image_changed',
  'definitions_approved'
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  id: number;
  at: string;
  event: AuditEvent;
  principal: string | null;
  remoteAddress: string | null;
  detail: unknown;
}

/** Security-relevant events, kept in the state database and readable at `/api/audit`. */
export class AuditLog {
  constructor(
    private readonly db: DatabaseSync,
    private readonly onFailure: (error: unknown) => void = () => {}
  ) {}

  /** Records one event. Never throws: a failed write is reported to `onFailure`. */
  record(
    event: AuditEvent,
    fields: { principal?: string; remoteAddress?: string; detail?: unknown } = {}
  ): void {
    try {
      this.db
        .prepare('INSERT INTO audit (at, event, principal, remote_address, detail) VALUES (?, ?, ?, ?, ?)')
        .run(
          new Date().toISOString(),
          event,
          fields.principal ?? null,
          fields.remoteAddress ?? null,
          fields.detail === undefined ? null : JSON.stringify(fields.detail)
        );
    } catch (error) {
      this.onFailure(error);
    }
  }

  /** Newest first; `before` pages by id. */
  list(limit: number, before?: number, event?: AuditEvent): AuditEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audit WHERE (? IS NULL OR id < ?) AND (? IS NULL OR event = ?) ORDER BY id DESC LIMIT ?`
      )
      .all(before ?? null, before ?? null, event ?? null, event ?? null, limit) as unknown as {
      id: number;
      at: string;
      event: AuditEvent;
      principal: string | null;
      remote_address: string | null;
      detail: string | null;
    }[];
    return rows.map(row => ({
      id: row.id,
      at: row.at,
      event: row.event,
      principal: row.principal,
      remoteAddress: row.remote_address,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as unknown)
    }));
  }

  /** Deletes entries older than `days`. */
  prune(days: number, now = Date.now()): void {
    this.db.prepare('DELETE FROM audit WHERE at < ?').run(new Date(now - days * 86_400_000).toISOString());
  }
}
