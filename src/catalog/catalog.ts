import type { PriorDiscovery, Tool } from '@modelcontextprotocol/client';
import { fromJsonSchema, type JsonSchemaType } from '@modelcontextprotocol/server';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallOptions, CallOutcome, Upstream } from '../upstream/upstream.js';
import type { CatalogEntry, CatalogStore } from './catalog-store.js';
import { toolFilter } from './glob.js';
import { buildToolIndex, type ToolIndex, type ToolRoute } from './tool-index.js';
import { splitToolName } from './tool-names.js';

export interface CatalogOptions {
  readonly upstreams: readonly Upstream[];
  readonly store: CatalogStore;
  readonly log: Logger;
  /** Servers discovered at once at startup. */
  readonly discoveryConcurrency?: number;
}

/** A finished call, with where it went. */
export interface RoutedOutcome extends CallOutcome {
  readonly route: ToolRoute;
  /** False when the name was routed by decoding alone (its server's catalog is not known yet). */
  readonly listed: boolean;
}

/**
 * The merged, namespaced tool list of every server, and the router from exposed names back to
 * servers. The list is answered from the stored catalog without starting anything; servers with
 * no stored entry (or a changed fingerprint) are discovered in the background, a few at a time.
 */
export class Catalog {
  private readonly upstreams: ReadonlyMap<string, Upstream>;
  private readonly entries = new Map<string, CatalogEntry>();
  private readonly changeListeners = new Set<() => void>();
  private readonly log: Logger;
  private index: ToolIndex = buildToolIndex([]);
  /** Compiled input-schema validators by exposed name (null: not checked); emptied on every rebuild. */
  private readonly validators = new Map<string, ReturnType<typeof fromJsonSchema> | null>();
  private discovery: Promise<void> = Promise.resolve();
  private discoveringCount = 0;

  constructor(private readonly options: CatalogOptions) {
    this.upstreams = new Map(options.upstreams.map(upstream => [upstream.id, upstream]));
    this.log = options.log.child({ component: 'catalog' });
    for (const upstream of options.upstreams) {
      upstream.addListener({ onTools: (source, tools, era) => void this.onTools(source, tools, era) });
    }
  }

  /** Loads the stored catalog and starts discovering the servers it lacks. Returns at once. */
  async start(): Promise<void> {
    for (const entry of this.options.store.loadAll()) {
      if (this.upstreams.has(entry.serverId)) this.entries.set(entry.serverId, entry);
    }
    const stale: Upstream[] = [];
    for (const upstream of this.upstreams.values()) {
      const entry = this.entries.get(upstream.id);
      const fingerprint = await upstream.fingerprint();
      // Without the runtime's part (an image id the engine cannot tell now), trust an entry whose
      // config part matches.
      const matches =
        entry !== undefined &&
        (entry.fingerprint === fingerprint ||
          (fingerprint === upstream.spec.fingerprint && entry.fingerprint.startsWith(`${fingerprint}:`)));
      if (entry && matches) {
        upstream.prior = entry.era;
      } else if (!upstream.spec.unavailable) {
        stale.push(upstream);
      }
    }
    this.rebuild();
    if (stale.length > 0) this.discovery = this.discover(stale);
  }

  /** True while startup discovery is still running. */
  get discovering(): boolean {
    return this.discoveringCount > 0;
  }

  /** Resolves when startup discovery has finished (successfully or not). */
  settled(): Promise<void> {
    return this.discovery;
  }

  /**
   * The exposed tools. While discovery runs, waits for it up to `waitMs`, then answers with what is
   * known; never starts a server itself.
   */
  async listTools(waitMs: number): Promise<readonly Tool[]> {
    if (this.discovering && waitMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.discovery, new Promise(resolve => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    return this.index.tools;
  }

  /**
   * Calls an exposed tool by name on the server that owns it. Arguments are checked against the
   * tool's `inputSchema` first: an invalid call gets a tool error naming the failing field (so the
   * model can correct itself) and starts nothing.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: CallOptions = {}
  ): Promise<RoutedOutcome> {
    const route = this.resolve(name);
    const listed = this.index.routes.has(name);
    const problems = listed ? this.validate(name, args) : undefined;
    if (problems) {
      return {
        route,
        listed,
        cold: false,
        startMs: 0,
        result: {
          content: [{ type: 'text', text: `Invalid arguments for ${name}: ${problems}` }],
          isError: true
        }
      };
    }
    const upstream = this.upstreams.get(route.serverId)!;
    const outcome = await upstream.callTool(route.tool, args, options);
    return { ...outcome, route, listed };
  }

  /** The problems of `args` against the tool's input schema, or undefined when they are fine. */
  private validate(name: string, args: Record<string, unknown>): string | undefined {
    let validator = this.validators.get(name);
    if (validator === undefined) {
      const tool = this.index.tools.find(candidate => candidate.name === name);
      try {
        validator = tool ? fromJsonSchema(tool.inputSchema as JsonSchemaType) : null;
      } catch (error) {
        // A schema the validator cannot compile is the server's to enforce.
        this.log.warn(
          { tool: name, err: describeError(error) },
          'cannot compile a tool input schema; not checked'
        );
        validator = null;
      }
      this.validators.set(name, validator);
    }
    if (!validator) return undefined;
    const result = validator['~standard'].validate(args);
    if (result instanceof Promise) return undefined; // the SDK's validators are synchronous
    return result.issues?.map(issue => issue.message).join('; ');
  }

  /**
   * Where an exposed name leads. Names in the catalog route through its index; a `namespace__tool`
   * name of a server that has no catalog entry yet (its discovery failed) routes by decoding, so the
   * server itself can answer.
   */
  resolve(name: string): ToolRoute {
    const route = this.index.routes.get(name);
    if (route) return route;
    const split = splitToolName(name);
    if (split) {
      const owners = [...this.upstreams.values()].filter(
        upstream => upstream.spec.namespace === split.namespace && !this.entries.has(upstream.id)
      );
      if (owners.length === 1) return { serverId: owners[0]!.id, tool: split.tool };
    }
    throw new GatewayError('unknown_tool', `Unknown tool: ${name}`);
  }

  /** Whether `name` is in the exposed catalog (not merely routable by decoding). */
  isListed(name: string): boolean {
    return this.index.routes.has(name);
  }

  /** Registers a listener called whenever the exposed tool list changes; returns its remover. */
  onChanged(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private async discover(stale: readonly Upstream[]): Promise<void> {
    const queue = [...stale];
    this.discoveringCount = queue.length;
    const worker = async () => {
      for (let upstream = queue.shift(); upstream; upstream = queue.shift()) {
        try {
          await upstream.discover();
        } catch (error) {
          this.log.warn({ server: upstream.id, err: describeError(error) }, 'discovery failed');
        } finally {
          this.discoveringCount--;
        }
      }
    };
    const concurrency = Math.max(1, this.options.discoveryConcurrency ?? 3);
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    this.log.info({ servers: stale.length, tools: this.index.tools.length }, 'discovery finished');
  }

  private async onTools(upstream: Upstream, tools: readonly Tool[], era: PriorDiscovery): Promise<void> {
    const fingerprint = await upstream.fingerprint().catch(() => upstream.spec.fingerprint);
    const previous = this.entries.get(upstream.id);
    const entry: CatalogEntry = {
      serverId: upstream.id,
      fingerprint,
      era,
      tools,
      discoveredAt: new Date().toISOString()
    };
    const toolsChanged = JSON.stringify(previous?.tools) !== JSON.stringify(tools);
    if (!toolsChanged && previous?.fingerprint === fingerprint && previous.era.kind === era.kind) return;
    this.entries.set(upstream.id, entry);
    try {
      this.options.store.save(entry);
    } catch (error) {
      this.log.error({ server: upstream.id, err: describeError(error) }, 'saving the catalog entry failed');
    }
    if (toolsChanged) {
      this.log.info({ server: upstream.id, tools: tools.length }, 'server tools changed');
      this.rebuild();
      for (const listener of this.changeListeners) listener();
    }
  }

  private rebuild(): void {
    const sources = [...this.entries.values()].flatMap(entry => {
      const upstream = this.upstreams.get(entry.serverId);
      if (!upstream) return [];
      const allowed = toolFilter(upstream.spec.tools);
      return [
        {
          serverId: entry.serverId,
          namespace: upstream.spec.namespace,
          tools: entry.tools.filter(t => allowed(t.name))
        }
      ];
    });
    this.index = buildToolIndex(sources);
    this.validators.clear();
    for (const collision of this.index.collisions) {
      this.log.warn(
        { name: collision.name, kept: collision.kept, renamed: collision.renamed },
        'two tools wanted the same name; the second was renamed'
      );
    }
  }
}
