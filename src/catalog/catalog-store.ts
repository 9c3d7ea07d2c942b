import type { DatabaseSync } from 'node:sqlite';
import type {
  PriorDiscovery,
  Prompt,
  Resource,
  ResourceTemplateType,
  ServerCapabilities,
  Tool
} from '@modelcontextprotocol/client';
import type { Listing } from '../upstream/listing.js';

/** What the gateway remembers about a server between runs: every kind it lists, unmodified. */
export interface CatalogEntry extends Listing {
  readonly serverId: string;
  /** The server's fingerprint when it was listed; a different one means rediscover. */
  readonly fingerprint: string;
  /** The protocol era the server spoke, so later starts skip the probe. */
  readonly era: PriorDiscovery;
  /** The server's own instructions for clients, from its handshake. */
  readonly instructions?: string | undefined;
  /** What the server offered at its handshake (which kinds, completions). */
  readonly capabilities?: ServerCapabilities | undefined;
  readonly discoveredAt: string;
}

interface Row {
  server_id: string;
  fingerprint: string;
  era: string;
  tools: string;
  kinds: string | null;
  discovered_at: string;
}

/** The kinds column: every kind but tools (which keep their own column), and the instructions. */
interface Kinds {
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  instructions?: string;
  capabilities?: ServerCapabilities;
}

/** Catalog entries in the state database, one row per server. */
export class CatalogStore {
  constructor(private readonly db: DatabaseSync) {}

  loadAll(): CatalogEntry[] {
    const rows = this.db.prepare('SELECT * FROM catalog').all() as unknown as Row[];
    return rows.flatMap(row => {
      // A row stored before the other kinds were kept is rediscovered, like a damaged one.
      if (row.kinds === null) return [];
      try {
        const kinds = JSON.parse(row.kinds) as Kinds;
        return [
          {
            serverId: row.server_id,
            fingerprint: row.fingerprint,
            era: JSON.parse(row.era) as PriorDiscovery,
            tools: JSON.parse(row.tools) as Tool[],
            prompts: kinds.prompts,
            resources: kinds.resources,
            resourceTemplates: kinds.resourceTemplates,
            ...(kinds.instructions === undefined ? {} : { instructions: kinds.instructions }),
            ...(kinds.capabilities === undefined ? {} : { capabilities: kinds.capabilities }),
            discoveredAt: row.discovered_at
          }
        ];
      } catch {
        return []; // a damaged row is rediscovered
      }
    });
  }

  save(entry: CatalogEntry): void {
    const kinds: Kinds = {
      prompts: [...entry.prompts],
      resources: [...entry.resources],
      resourceTemplates: [...entry.resourceTemplates],
      ...(entry.instructions === undefined ? {} : { instructions: entry.instructions }),
      ...(entry.capabilities === undefined ? {} : { capabilities: entry.capabilities })
    };
    this.db
      .prepare(
        `INSERT INTO catalog (server_id, fingerprint, era, tools, kinds, discovered_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(server_id) DO UPDATE SET fingerprint = excluded.fingerprint, era = excluded.era,
           tools = excluded.tools, kinds = excluded.kinds, discovered_at = excluded.discovered_at`
      )
      .run(
        entry.serverId,
        entry.fingerprint,
        JSON.stringify(entry.era),
        JSON.stringify(entry.tools),
        JSON.stringify(kinds),
        entry.discoveredAt
      );
  }
}
