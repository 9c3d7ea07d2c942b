import type { UpstreamRegistry } from '../upstream/upstream-registry.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Catalog } from './catalog.js';
import type { ImageChange } from './pin-keeper.js';

/** One server as `/api/servers` and the dashboard show it. */
export type ServerStatus = ReturnType<Upstream['status']> & {
  readonly description: string | null;
  /** Its tools in the catalog now. */
  readonly tools: number;
  /** The last lines (at most 50) it wrote to stderr, oldest first. */
  readonly stderr: readonly string[];
  /**
   * How to log in, for a remote server with `credentials: per-user` (each principal logs in on its
   * own, so the gateway's own view of it always needs one); null for any other server.
   */
  readonly login: string | null;
  /** `trust:` in servers.yaml. */
  readonly trust: 'auto' | 'manual';
  /** Its items held back until approved (pinned definitions that changed, new ones, its image). */
  readonly quarantined: number;
  /** A Docker server's last image change seen in this run, if any. */
  readonly imageChange: ImageChange | null;
  /** When its failed discovery is tried again (ISO 8601); null when none is due. */
  readonly nextDiscovery: string | null;
};

/**
 * The one read model of server status: the registry's servers now, each with its upstream's live
 * state and what the catalog lists of it. `/api` and the dashboard read it; neither keeps a list.
 */
export class ServerStatuses {
  constructor(
    private readonly registry: UpstreamRegistry,
    private readonly catalog: Catalog
  ) {}

  /** The upstream of server `id` now, or undefined when the config has no such server. */
  upstream(id: string): Upstream | undefined {
    return this.registry.get(id);
  }

  /** Every server now, in config order. */
  async all(): Promise<ServerStatus[]> {
    const counts = await this.toolCounts();
    return this.registry.all().map(upstream => this.view(upstream, counts));
  }

  /** Server `upstream` now. */
  async of(upstream: Upstream): Promise<ServerStatus> {
    return this.view(upstream, await this.toolCounts());
  }

  private view(upstream: Upstream, counts: ReadonlyMap<string, number>): ServerStatus {
    return {
      ...upstream.status(),
      description: upstream.spec.description ?? null,
      tools: counts.get(upstream.id) ?? 0,
      stderr: upstream.stderrTail(),
      login: perUserLogin(upstream),
      trust: upstream.spec.trust ?? 'auto',
      quarantined: this.catalog.quarantinedCounts().get(upstream.id) ?? 0,
      imageChange: this.catalog.imageChange(upstream.id) ?? null,
      nextDiscovery: this.catalog.nextDiscovery(upstream.id)
    };
  }

  private async toolCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const tool of await this.catalog.listTools(0)) {
      const { serverId } = this.catalog.resolve(tool.name);
      counts.set(serverId, (counts.get(serverId) ?? 0) + 1);
    }
    return counts;
  }
}

/** How each user logs in to `upstream`'s server, when it has `credentials: per-user`. */
function perUserLogin({ spec }: Upstream): string | null {
  if (spec.kind !== 'remote' || spec.remote.oauth?.credentials !== 'per-user') return null;
  return `needs login: each user logs in on their own, with \`mcp-gateway login ${spec.id} --token <their gateway token>\` or through their MCP client's OAuth prompt`;
}
