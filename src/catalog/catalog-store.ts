import type { DatabaseSync } from 'node:sqlite';
import type { PriorDiscovery, Tool } from '@modelcontextprotocol/client';

/** What the gateway remembers about a server's tools between runs. */
export interface CatalogEntry {
  readonly serverId: string;
  /** The server's fingerprint when these tools were listed; a different one means rediscover. */
  readonly fingerprint: string;
  /** The protocol era the server spoke, so later starts skip the probe. */
  readonly era: PriorDiscovery;
  /** The server's own tool definitions, unmodified. */
  readonly tools: readonly Tool[];
  readonly discoveredAt: string;
}

interface Row {
  server_id: string;
  fingerprint: string;
  era: string;
  tools: string;
  discovered_at: string;
}

/** Catalog entries in the state database, one row per server. */
export class CatalogStore {
  constructor(private readonly db: DatabaseSync) {}

  loadAll(): CatalogEntry[] {
    const rows = this.db.prepare('SELECT * FROM catalog').all() as unknown as Row[];
    return rows.flatMap(row => {
      try {
        return [
          {
            serverId: row.server_id,
            fingerprint: row.fingerprint,
            era: JSON.parse(row.era) as PriorDiscovery,
            tools: JSON.parse(row.tools) as Tool[],
            discoveredAt: row.discovered_at
          }
        ];
      } catch {
        return []; // a damaged row is rediscovered
      }
    });
  }

  save(entry: CatalogEntry): void {
    this.db
      .prepare(
        `INSERT INTO catalog (server_id, fingerprint, era, tools, discovered_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(server_id) DO UPDATE SET fingerprint = excluded.fingerprint, era = excluded.era,
           tools = excluded.tools, discovered_at = excluded.discovered_at`
      )
      .run(
        entry.serverId,
        entry.fingerprint,
        JSON.stringify(entry.era),
        JSON.stringify(entry.tools),
        entry.discoveredAt
      );
  }
}
