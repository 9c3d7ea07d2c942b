import type { DatabaseSync } from 'node:sqlite';

/** What is pinned: a tool, prompt or resource template definition, or a Docker server's image id. */
export type PinKind = 'tool' | 'prompt' | 'resourceTemplate' | 'image';

/** One approved definition of one server. */
export interface Pin {
  readonly kind: PinKind;
  /** The server's own name (a template's URI template; for `image`, the image reference). */
  readonly name: string;
  /** The hash of `definition` (for `image`: the image id itself). */
  readonly hash: string;
  /** The approved definition as canonical JSON, kept to show what changed. */
  readonly definition: string;
  readonly approvedAt: string;
  /** Who approved it: `auto` (trust: auto, first seen), or the approving principal; null if unknown. */
  readonly approvedBy: string | null;
}

/** An item announced as held (see {@link PinStore.announce}). */
export interface Announced {
  readonly serverId: string;
  readonly kind: PinKind;
  readonly name: string;
  readonly hash: string;
}

interface Row {
  server_id: string;
  kind: PinKind;
  name: string;
  hash: string;
  definition: string;
  approved_at: string;
  approved_by: string | null;
}

/**
 * The approved definitions in the state database, one row per (server, kind, name). A pin outlives
 * its item: an item a server stops listing keeps its pin, so that if it comes back changed it is
 * quarantined like any other change.
 */
export class PinStore {
  constructor(private readonly db: DatabaseSync) {}

  /** Every pin, by server id. */
  loadAll(): Map<string, Pin[]> {
    const rows = this.db
      .prepare('SELECT * FROM pins ORDER BY server_id, kind, name')
      .all() as unknown as Row[];
    const pins = new Map<string, Pin[]>();
    for (const row of rows) {
      const list = pins.get(row.server_id) ?? [];
      list.push({
        kind: row.kind,
        name: row.name,
        hash: row.hash,
        definition: row.definition,
        approvedAt: row.approved_at,
        approvedBy: row.approved_by
      });
      pins.set(row.server_id, list);
    }
    return pins;
  }

  /** What is held and was announced, with the hash announced: one entry per (server, kind, name). */
  loadAnnounced(): Announced[] {
    const rows = this.db
      .prepare('SELECT server_id, kind, name, hash FROM held_announced')
      .all() as unknown as { server_id: string; kind: PinKind; name: string; hash: string }[];
    return rows.map(row => ({ serverId: row.server_id, kind: row.kind, name: row.name, hash: row.hash }));
  }

  /** Records that `kind` `name` of `serverId` was announced as held with `hash`. */
  announce(serverId: string, kind: PinKind, name: string, hash: string): void {
    this.db
      .prepare(
        `INSERT INTO held_announced (server_id, kind, name, hash) VALUES (?, ?, ?, ?)
         ON CONFLICT(server_id, kind, name) DO UPDATE SET hash = excluded.hash`
      )
      .run(serverId, kind, name, hash);
  }

  /** Forgets the announcement of `kind` `name` of `serverId`: it is held no more. */
  unannounce(serverId: string, kind: PinKind, name: string): void {
    this.db
      .prepare('DELETE FROM held_announced WHERE server_id = ? AND kind = ? AND name = ?')
      .run(serverId, kind, name);
  }

  /** Forgets every announcement of `serverId` (the server is gone). */
  unannounceServer(serverId: string): void {
    this.db.prepare('DELETE FROM held_announced WHERE server_id = ?').run(serverId);
  }

  /** Records `pins` of server `serverId` (replacing those of the same kind and name), all or none. */
  save(serverId: string, pins: readonly Pin[]): void {
    if (pins.length === 0) return;
    const insert = this.db.prepare(
      `INSERT INTO pins (server_id, kind, name, hash, definition, approved_at, approved_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(server_id, kind, name) DO UPDATE SET hash = excluded.hash,
         definition = excluded.definition, approved_at = excluded.approved_at,
         approved_by = excluded.approved_by`
    );
    this.db.exec('BEGIN');
    try {
      for (const pin of pins) {
        insert.run(serverId, pin.kind, pin.name, pin.hash, pin.definition, pin.approvedAt, pin.approvedBy);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
