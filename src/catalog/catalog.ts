import type { PriorDiscovery, ServerCapabilities, Tool } from '@modelcontextprotocol/client';
import { fromJsonSchema, type JsonSchemaType } from '@modelcontextprotocol/server';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { EMPTY_LISTING, type CapabilityKind, type Listing } from '../upstream/listing.js';
import type {
  CallOptions,
  CallOutcome,
  RequestOutcome,
  Send,
  Subject,
  Upstream
} from '../upstream/upstream.js';
import type { PrincipalUpstreams } from '../upstream/principal-upstreams.js';
import { UpstreamRegistry, type Served } from '../upstream/upstream-registry.js';
import type { CatalogEntry, CatalogStore } from './catalog-store.js';
import { toolFilter } from './glob.js';
import type { Held } from './definition-pins.js';
import type { ImageChange, PinKeeper } from './pin-keeper.js';
import { pinnedServer, quarantinedError, quoteArg, templateMatches } from './held-items.js';
import { buildResourceIndex, type ResourceIndex } from './resource-index.js';
import { exposeContentUris } from './exposed-uris.js';
import { decodeResourceUri, encodeResourceUri } from './resource-uris.js';
import {
  buildNameIndex,
  buildToolIndex,
  compare,
  type NameIndex,
  type ToolIndex,
  type ToolRoute
} from './tool-index.js';
import { DiscoveryRetries } from './discovery-retries.js';
import { encodeToolName, splitToolName } from './tool-names.js';

export interface CatalogOptions {
  /** The servers: the registry it follows, or a fixed list (tests). */
  readonly upstreams: UpstreamRegistry | readonly Upstream[];
  readonly store: CatalogStore;
  readonly log: Logger;
  /** Servers discovered at once at startup. */
  readonly discoveryConcurrency?: number;
  /** When a failed discovery is tried again (see {@link DiscoveryRetries}); the default's waits otherwise. */
  readonly discoveryRetries?: DiscoveryRetries;
  /**
   * With a fixed list: the servers with `credentials: per-user` (each `base` is also in
   * `upstreams`; a registry knows its own): their requests go to the caller's own upstream, and
   * they are never started for discovery.
   */
  readonly perUser?: readonly PrincipalUpstreams[];
  /**
   * The pinned definitions: items that differ from what was approved are held back (not listed,
   * refused). Without one, everything a server lists is served.
   */
  readonly pins?: PinKeeper;
}

/** One held item as `/api/quarantine` and the dashboard show it. */
export interface QuarantinedItem {
  readonly server: string;
  readonly kind: Held['kind'];
  /** The server's own name (a template's URI template, an image reference). */
  readonly name: string;
  /** The name clients would see (tools and prompts); null for the others. */
  readonly exposedName: string | null;
  readonly reason: Held['reason'];
  /** The approved definition; null for a new item. */
  readonly pinned: unknown;
  /** The definition the server offers now. */
  readonly current: unknown;
  /** `pinned` → `current`, line by line (`- `, `+ `, `  `). */
  readonly diff: string;
  /** The top-level fields that differ. */
  readonly fields: readonly string[];
  /** The command that approves it. */
  readonly approve: string;
}

/** A request's options, and who it is for: the principal whose upstream a per-user server uses. */
export interface CatalogCallOptions extends CallOptions {
  /** The caller's principal id; undefined for a caller with none (authentication off). */
  readonly principal?: string | undefined;
}

/** Where an exposed prompt name or resource URI leads: its server, and the server's own name or URI. */
export interface KindRoute {
  readonly serverId: string;
  readonly namespace: string;
  /** The server's own prompt name, or its own resource URI. */
  readonly name: string;
}

/** The capabilities the servers behind offer between them (what the gateway can advertise). */
export interface OfferedKinds {
  readonly prompts: boolean;
  readonly resources: boolean;
  readonly completions: boolean;
  /** Some server offers `resources/subscribe`. */
  readonly subscribe: boolean;
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
  private readonly registry: UpstreamRegistry;
  private readonly entries = new Map<string, CatalogEntry>();
  private readonly changeListeners = new Set<(kind: CapabilityKind) => void>();
  private readonly updateListeners = new Set<(uri: string) => void>();
  private readonly log: Logger;
  private index: ToolIndex = buildToolIndex([]);
  private promptIndex: NameIndex<Listing['prompts'][number]> = buildNameIndex([]);
  private resourceIndex: ResourceIndex = buildResourceIndex([]);
  /** Compiled input-schema validators by exposed name (null: not checked); emptied on every rebuild. */
  private readonly validators = new Map<string, ReturnType<typeof fromJsonSchema> | null>();
  private discovery: Promise<void> = Promise.resolve();
  private readonly retries: DiscoveryRetries;
  private discoveringCount = 0;
  private started = false;

  constructor(private readonly options: CatalogOptions) {
    this.registry =
      options.upstreams instanceof UpstreamRegistry
        ? options.upstreams
        : UpstreamRegistry.fixed(options.upstreams, options.perUser ?? []);
    this.log = options.log.child({ component: 'catalog' });
    this.retries = options.discoveryRetries ?? new DiscoveryRetries();
    this.registry.each(served => this.attach(served));
    // A server added, changed or removed while the gateway runs (a reload): its entry follows.
    this.registry.subscribe({
      onAdded: served => void this.adopt([served.upstream]),
      onRemoved: served => this.forget(served.upstream.id),
      onReplaced: (before, after) => {
        if (before.upstream.spec.fingerprint !== after.upstream.spec.fingerprint)
          this.entries.delete(after.upstream.id);
        this.changedServers();
        void this.adopt([after.upstream]);
      },
      // A reload is an operator's "try again": a kept server whose discovery failed is tried now,
      // not when its timer comes (up to MAX_RETRY_MS later).
      onKept: ({ upstream }) => {
        if (this.retries.dueAt(upstream.id) === undefined) return;
        this.retries.forget(upstream.id);
        void this.discover([upstream], false);
      }
    });
  }

  /** Listens to a server's upstream and, for a per-user server, to every principal's one. */
  private attach({ upstream, perUser }: Served): void {
    const pins = this.options.pins;
    if (pins && upstream.spec.kind === 'docker') {
      upstream.admit = identity => pins.reviewImage(pinnedServer(upstream), identity);
    }
    // A principal's connection lists the server like any start: the first one fills its entry.
    // Its resource updates and log messages are that principal's and reach no one else.
    perUser?.addListener({
      onListed: (source, kind, items, era) => void this.onListed(source, kind, items, era)
    });
    upstream.addListener({
      onListed: (source, kind, items, era) => void this.onListed(source, kind, items, era),
      onResourceUpdated: (source, uri) => {
        if (!this.serves(source)) return;
        const exposed = encodeResourceUri({ namespace: source.spec.namespace, uri });
        if (exposed !== undefined) for (const listener of this.updateListeners) listener(exposed);
      }
    });
  }

  /**
   * Whether `upstream` serves its server now (a principal's upstream shares its server's spec). One
   * taken out by a reload may still answer while it drains; what it lists or sends is not kept.
   */
  private serves(upstream: Upstream): boolean {
    return this.registry.get(upstream.id)?.spec === upstream.spec;
  }

  /** Loads the stored catalog and starts discovering the servers it lacks. Returns at once. */
  async start(): Promise<void> {
    this.started = true;
    for (const entry of this.options.store.loadAll()) {
      if (this.registry.get(entry.serverId)) this.entries.set(entry.serverId, entry);
    }
    await this.adopt(this.registry.all(), false);
  }

  /**
   * Takes servers into the catalog: each with a stored entry of the same fingerprint is listed from
   * it, the others are discovered in the background. `tell`: whether the change listeners hear of
   * the lists this changes (not at startup, when no list was given out yet).
   */
  private async adopt(upstreams: readonly Upstream[], tell = true): Promise<void> {
    if (!this.started) return;
    const stored = new Map(
      upstreams.some(upstream => !this.entries.has(upstream.id))
        ? this.options.store.loadAll().map(entry => [entry.serverId, entry])
        : []
    );
    const stale: Upstream[] = [];
    for (const upstream of upstreams) {
      const entry = this.entries.get(upstream.id) ?? stored.get(upstream.id);
      const fingerprint = await upstream.fingerprint();
      // Without the runtime's part (an image id the engine cannot tell now), trust an entry whose
      // config part matches.
      const matches =
        entry !== undefined &&
        (entry.fingerprint === fingerprint ||
          (fingerprint === upstream.spec.fingerprint && entry.fingerprint.startsWith(`${fingerprint}:`)));
      if (entry && matches) {
        this.entries.set(upstream.id, entry);
        this.review(upstream, entry);
        upstream.prior = entry.era;
      } else if (!upstream.spec.unavailable && !this.registry.perUser(upstream.id)) {
        // A per-user server is listed once some principal's connection has listed it: opening one
        // for discovery would need a principal's login, which discovery does not have.
        stale.push(upstream);
      }
    }
    if (tell) this.changedServers();
    else this.rebuild();
    if (stale.length === 0) return;
    // Startup's discovery holds the first lists back (up to their wait); a reload's does not: the
    // lists answer with what is known, and list_changed tells of the rest.
    if (tell) void this.discover(stale, false);
    else this.discovery = this.discover(stale, true);
  }

  /** Drops a server removed from the config: its tools, prompts and resources leave the lists. */
  private forget(serverId: string): void {
    this.retries.forget(serverId);
    this.entries.delete(serverId);
    this.options.pins?.forget(serverId);
    this.changedServers();
  }

  /** Rebuilds the lists after the set of servers changed, and tells the listeners which kinds changed. */
  private changedServers(): void {
    const before = this.snapshot();
    this.rebuild();
    const after = this.snapshot();
    for (const kind of Object.keys(after) as CapabilityKind[]) {
      if (before[kind] !== after[kind]) for (const listener of this.changeListeners) listener(kind);
    }
  }

  private snapshot(): Record<CapabilityKind, string> {
    return {
      tools: JSON.stringify(this.index.tools),
      prompts: JSON.stringify(this.promptIndex.items),
      resources: JSON.stringify(this.resourceIndex.resources),
      resourceTemplates: JSON.stringify(this.resourceIndex.resourceTemplates)
    };
  }

  /** True while startup discovery is still running. */
  get discovering(): boolean {
    return this.discoveringCount > 0;
  }

  /** Resolves when startup discovery has finished (successfully or not). */
  settled(): Promise<void> {
    return this.discovery;
  }

  /** The exposed tool named `name`, if the catalog lists it. */
  tool(name: string): Tool | undefined {
    return this.index.tools.find(candidate => candidate.name === name);
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

  /** The exposed items of `kind`; waits for startup discovery like {@link listTools}. */
  async list<K extends CapabilityKind>(kind: K, waitMs: number): Promise<Listing[K]> {
    await this.listTools(waitMs);
    return this.listed(kind);
  }

  /** The exposed items of `kind` now, without waiting for discovery; a new array after each change. */
  listed<K extends CapabilityKind>(kind: K): Listing[K] {
    const lists: Listing = {
      tools: this.index.tools,
      prompts: this.promptIndex.items,
      resources: this.resourceIndex.resources,
      resourceTemplates: this.resourceIndex.resourceTemplates
    };
    return lists[kind];
  }

  /**
   * What the servers offer between them. A server not discovered yet counts as offering everything,
   * so that a client that connects during discovery is not told there is nothing to find.
   */
  offered(): OfferedKinds {
    const offers = this.registry
      .all()
      .filter(upstream => !upstream.spec.unavailable)
      .map((upstream): ServerCapabilities | undefined => {
        const entry = this.entries.get(upstream.id);
        return entry ? (entry.capabilities ?? {}) : undefined;
      });
    const any = (has: (offer: ServerCapabilities) => boolean) =>
      offers.some(offer => offer === undefined || has(offer));
    return {
      prompts: any(offer => offer.prompts !== undefined),
      resources: any(offer => offer.resources !== undefined),
      completions: any(offer => offer.completions !== undefined),
      subscribe: any(offer => offer.resources?.subscribe === true)
    };
  }

  /** The capabilities server `serverId` declared when it was last discovered; undefined if never. */
  capabilitiesOf(serverId: string): ServerCapabilities | undefined {
    const entry = this.entries.get(serverId);
    return entry ? (entry.capabilities ?? {}) : undefined;
  }

  /** Each server's own instructions, by server id, for those that gave any. */
  instructions(): ReadonlyMap<string, string> {
    const found = new Map<string, string>();
    for (const entry of this.entries.values()) {
      if (entry.instructions) found.set(entry.serverId, entry.instructions);
    }
    return found;
  }

  /**
   * Where an exposed prompt name leads: through the index for a listed prompt, else by decoding its
   * `namespace__` like a tool of a server not discovered yet.
   */
  resolvePrompt(name: string): KindRoute {
    const route = this.promptIndex.routes.get(name) ?? this.decodeUnlisted('prompt', name);
    if (!route) {
      throw new GatewayError(
        'unknown_prompt',
        `Unknown prompt: ${name}. prompts/list names every prompt the gateway serves (<server namespace>__<prompt>)`
      );
    }
    return {
      serverId: route.serverId,
      namespace: this.upstreamOf(route.serverId).spec.namespace,
      name: route.tool
    };
  }

  /**
   * Where an exposed resource URI (or URI template) leads, by decoding it: its namespace names the
   * server, the rest is the server's own URI. No table of listed URIs is consulted, so a URI
   * expanded from a template routes like a listed one; the server's `resources` filter is applied to
   * that URI (or template), so what is hidden from lists cannot be read or completed either.
   */
  resolveResource(uri: string): KindRoute {
    const { namespace, uri: own } = decodeResourceUri(uri);
    const owners = this.registry.all().filter(upstream => upstream.spec.namespace === namespace);
    const owner = owners.length === 1 ? owners[0]! : this.listedBy(owners, own);
    // The server's resources filter applies to what is read, not only to what is listed.
    if (owner && !toolFilter(owner.spec.resources ?? {})(own)) {
      throw new GatewayError(
        'unknown_resource',
        `Resource URI ${uri} is left out by the resources filter of server "${owner.id}" (resources.allow/deny in servers.yaml); resources/list names every resource the gateway serves`,
        { detail: { uri } }
      );
    }
    if (owner) {
      this.refuseHeldTemplate(owner, own);
      return { serverId: owner.id, namespace, name: own };
    }
    const message =
      owners.length === 0
        ? namespace === ''
          ? `Resource URI ${uri} names no server: the gateway's resource URIs carry their server's namespace after the scheme (scheme://<namespace>+<rest>); resources/list names every resource it serves`
          : `Resource URI ${uri} names namespace "${namespace}", which no server has; resources/list names every resource the gateway serves`
        : `Resource URI ${uri} is ambiguous: servers ${owners.map(owner => owner.id).join(', ')} share namespace "${namespace}"; give each its own namespace in servers.yaml`;
    throw new GatewayError('unknown_resource', message, { detail: { uri } });
  }

  /**
   * Of servers sharing a namespace, the first (by id) whose stored entry lists resource `uri`: tools
   * and prompts of such servers are told apart by renames, resources only by what each listed (the
   * same URI listed by two is one resource, the first's); so is a template itself (for completion
   * and token scopes). Other URIs, expansions of their templates included, stay ambiguous.
   */
  private listedBy(owners: readonly Upstream[], uri: string): Upstream | undefined {
    return [...owners]
      .sort((a, b) => compare(a.id, b.id))
      .find(owner => {
        const entry = this.entries.get(owner.id);
        return (
          entry?.resources.some(resource => resource.uri === uri) ||
          entry?.resourceTemplates.some(template => template.uriTemplate === uri)
        );
      });
  }

  /**
   * Sends a request to the server `route` leads to, under the upstream's rules for every request
   * (slots, callTimeout, cold start, cancellation, progress).
   */
  request<T>(
    route: KindRoute,
    subject: Subject,
    send: Send<T>,
    options: CatalogCallOptions = {}
  ): Promise<RequestOutcome<T>> {
    return this.through(route.serverId, options.principal, upstream =>
      upstream.request(subject, send, options)
    );
  }

  /**
   * Subscribes the gateway to updates of the resource `route` leads to (see
   * {@link Upstream.subscribeResource}). A per-user server's resources cannot be subscribed to: the
   * gateway's subscriptions are shared by every session, and its updates would come over one
   * principal's connection.
   */
  subscribeResource(route: KindRoute, options: CallOptions = {}): Promise<void> {
    if (this.registry.perUser(route.serverId)) {
      return Promise.reject(
        new GatewayError(
          'forbidden',
          `server ${route.serverId} has credentials: per-user, whose resources cannot be subscribed to through the gateway; read them with resources/read instead`,
          { serverId: route.serverId }
        )
      );
    }
    const upstream = this.registry.get(route.serverId);
    if (!upstream) return Promise.reject(removedServer(route.serverId));
    return this.admitted(upstream).then(() => upstream.subscribeResource(route.name, options));
  }

  /** Ends the gateway's subscription to the resource `route` leads to. */
  unsubscribeResource(route: KindRoute): Promise<void> {
    const upstream = this.registry.get(route.serverId);
    return upstream ? upstream.unsubscribeResource(route.name) : Promise.resolve();
  }

  /** Server `serverId`'s upstream; a server a reload has just removed fails as unavailable. */
  private upstreamOf(serverId: string): Upstream {
    const upstream = this.registry.get(serverId);
    if (upstream) return upstream;
    throw removedServer(serverId);
  }

  /**
   * Runs `use` on the upstream that serves `serverId` for `principal`: the server's one upstream,
   * or for a per-user server the principal's own (see {@link PrincipalUpstreams.run}); a request
   * with no principal is refused there, before anything is started.
   */
  private through<T>(
    serverId: string,
    principal: string | undefined,
    use: (upstream: Upstream) => Promise<T>
  ): Promise<T> {
    const pool = this.registry.perUser(serverId);
    if (pool === undefined) {
      const upstream = this.registry.get(serverId);
      if (!upstream) return Promise.reject(removedServer(serverId));
      // Only a Docker server has an image to admit: the others go straight on (the hot path).
      return this.options.pins && upstream.spec.kind === 'docker'
        ? this.admitted(upstream).then(() => use(upstream))
        : use(upstream);
    }
    if (principal === undefined) {
      return Promise.reject(
        new GatewayError(
          'forbidden',
          `server ${serverId} has credentials: per-user: each caller uses its own login to it, and this request has no caller to log in as (authentication is off, or it came through the REST API); call it from an MCP client with its own gateway token`,
          { serverId }
        )
      );
    }
    return pool.run(principal, use);
  }

  /**
   * Tells `listener` of every `notifications/resources/updated` a server sends, with the URI as
   * clients see it. Returns a function that removes it.
   */
  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /**
   * Calls an exposed tool by name on the server that owns it. Arguments are checked against the
   * tool's `inputSchema` first: an invalid call gets a tool error naming the failing field (so the
   * model can correct itself) and starts nothing.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: CatalogCallOptions = {}
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
    const upstream = this.upstreamOf(route.serverId);
    const outcome = await this.through(route.serverId, options.principal, serving =>
      serving.callTool(route.tool, args, options)
    );
    const { result } = outcome;
    // An input_required result (for a 2026-era caller to answer) has no content to rewrite.
    if (!Array.isArray(result.content)) return { ...outcome, route, listed };
    const exposed = result.content.map(block => exposeContentUris(block, upstream.spec.namespace));
    const content = exposed.filter(block => block !== undefined);
    if (content.length < exposed.length) {
      this.log.warn(
        { server: route.serverId, tool: route.tool, dropped: exposed.length - content.length },
        'a tool result links a resource URI that would lead to another server; those blocks were dropped'
      );
    }
    const rewritten = exposed.some((block, index) => block !== result.content[index]);
    return { ...outcome, result: rewritten ? { ...result, content } : result, route, listed };
  }

  /** The problems of `args` against the tool's input schema, or undefined when they are fine. */
  private validate(name: string, args: Record<string, unknown>): string | undefined {
    let validator = this.validators.get(name);
    if (validator === undefined) {
      const tool = this.tool(name);
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
    const route = this.index.routes.get(name) ?? this.decodeUnlisted('tool', name);
    if (route) return route;
    throw new GatewayError('unknown_tool', `Unknown tool: ${name}`);
  }

  /**
   * Routes a name the index does not list: refused when it names an item held back (or a server
   * with `trust: manual` whose catalog is not known yet, which cannot be checked), else by decoding.
   */
  private decodeUnlisted(kind: 'tool' | 'prompt', name: string): ToolRoute | undefined {
    const pins = this.options.pins;
    if (!pins) return this.decodeName(name);
    for (const upstream of this.registry.all()) {
      const held = pins
        .heldOf(upstream.id)
        .find(
          item =>
            item.kind === kind &&
            encodeToolName({ namespace: upstream.spec.namespace, tool: item.name }) === name
        );
      if (held) throw quarantinedError(upstream.id, held);
    }
    const route = this.decodeName(name);
    if (route && this.upstreamOf(route.serverId).spec.trust === 'manual') {
      throw new GatewayError(
        'quarantined',
        `server ${route.serverId} has trust: manual and its ${kind}s are not discovered and approved yet, so ${name} cannot be checked against what was approved; wait for its discovery, review it (GET /api/quarantine or the dashboard) and approve it with: mcp-gateway approve ${route.serverId}`,
        { serverId: route.serverId }
      );
    }
    return route;
  }

  /** Refuses a resource URI that only a held template of `owner` covers. */
  private refuseHeldTemplate(owner: Upstream, uri: string): void {
    const held = this.options.pins?.heldOf(owner.id).filter(item => item.kind === 'resourceTemplate') ?? [];
    if (held.length === 0) return;
    const covers = (template: string) => template === uri || templateMatches(template, uri);
    const served = this.entries
      .get(owner.id)
      ?.resourceTemplates.some(
        template =>
          !this.options.pins?.isHeld(owner.id, 'resourceTemplate', template.uriTemplate) &&
          covers(template.uriTemplate)
      );
    const blocking = held.find(item => covers(item.name));
    if (blocking && !served) throw quarantinedError(owner.id, blocking);
  }

  /**
   * Refuses a request to a server whose image is held. For a Docker server with `trust: manual`,
   * its image id is looked at first (the tag may have moved since it started).
   */
  private async admitted(upstream: Upstream): Promise<void> {
    const pins = this.options.pins;
    if (!pins || upstream.spec.kind !== 'docker') return;
    if (upstream.spec.trust === 'manual' && upstream.state !== 'ready') {
      pins.reviewImage(pinnedServer(upstream), await upstream.identity());
    }
    pins.refuseHeldImage(upstream.id);
  }

  /** What is held back on every server now, each with its difference from what was approved. */
  quarantine(): QuarantinedItem[] {
    const pins = this.options.pins;
    if (!pins) return [];
    return this.registry.all().flatMap(upstream =>
      pins.heldOf(upstream.id).map(item => ({
        server: upstream.id,
        kind: item.kind,
        name: item.name,
        exposedName:
          item.kind === 'tool' || item.kind === 'prompt'
            ? encodeToolName({ namespace: upstream.spec.namespace, tool: item.name })
            : null,
        reason: item.reason,
        pinned: item.pinned === null ? null : (JSON.parse(item.pinned) as unknown),
        current: JSON.parse(item.current) as unknown,
        diff: item.diff,
        fields: item.fields,
        approve: `mcp-gateway approve ${upstream.id} ${item.kind === 'image' ? 'image' : quoteArg(item.name)}`
      }))
    );
  }

  /** A Docker server's last image change seen in this run (see {@link PinKeeper.imageChange}). */
  imageChange(serverId: string): ImageChange | undefined {
    return this.options.pins?.imageChange(serverId);
  }

  /** Held items by server id (for the metric); servers with none are left out. */
  quarantinedCounts(): Map<string, number> {
    return this.options.pins?.counts() ?? new Map<string, number>();
  }

  /**
   * Approves what is held of server `serverId` (all, or the `items` named; see
   * {@link PinKeeper.approve}), lists it again and tells the listeners (list_changed). An approved
   * image lets the server be discovered anew.
   */
  approve(serverId: string, items: readonly string[], by?: string): QuarantinedItem[] {
    const upstream = this.upstreamOf(serverId);
    const before = this.quarantine().filter(item => item.server === serverId);
    const approved = this.options.pins?.approve(pinnedServer(upstream), items, by) ?? [];
    this.changedServers();
    if (approved.some(item => item.kind === 'image')) {
      // Another image may speak another protocol era: probe it afresh.
      upstream.prior = undefined;
      void this.adopt([upstream]);
    }
    return before.filter(item => approved.some(held => held.kind === item.kind && held.name === item.name));
  }

  /** A `namespace__name` of the one server with that namespace and no catalog entry yet. */
  private decodeName(name: string): ToolRoute | undefined {
    const split = splitToolName(name);
    if (!split) return undefined;
    const owners = this.registry
      .all()
      .filter(upstream => upstream.spec.namespace === split.namespace && !this.entries.has(upstream.id));
    return owners.length === 1 ? { serverId: owners[0]!.id, tool: split.tool } : undefined;
  }

  /** Whether `name` is in the exposed catalog (not merely routable by decoding). */
  isListed(name: string): boolean {
    return this.index.routes.has(name);
  }

  /**
   * Registers a listener called whenever an exposed list changes, with the kind that changed;
   * returns its remover.
   */
  onChanged(listener: (kind: CapabilityKind) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Discovers `stale`, a few at a time; `counted`: lists wait for it while it runs (startup). */
  private async discover(stale: readonly Upstream[], counted: boolean): Promise<void> {
    const queue = [...stale];
    if (counted) this.discoveringCount += queue.length;
    const worker = async () => {
      for (let upstream = queue.shift(); upstream; upstream = queue.shift()) {
        try {
          await upstream.discover();
          this.retries.forget(upstream.id);
        } catch (error) {
          const retryInMs = this.serves(upstream)
            ? this.retries.failed(upstream.id, () => this.retryDiscovery(upstream))
            : undefined;
          this.log.warn({ server: upstream.id, err: describeError(error), retryInMs }, 'discovery failed');
        } finally {
          if (counted) this.discoveringCount--;
        }
      }
    };
    const concurrency = Math.max(1, this.options.discoveryConcurrency ?? 3);
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    this.log.info({ servers: stale.length, tools: this.index.tools.length }, 'discovery finished');
  }

  /**
   * Discovers `upstream` again after its discovery failed, unless a reload replaced or removed it,
   * or it has been listed meanwhile (a call started it): then there is nothing to retry.
   */
  private retryDiscovery(upstream: Upstream): void {
    if (!this.serves(upstream) || this.entries.has(upstream.id)) {
      this.retries.forget(upstream.id);
      return;
    }
    void this.discover([upstream], false);
  }

  /**
   * Lists server `serverId` anew now, as `principal` for a server with `credentials: per-user` (the
   * gateway's own login otherwise): after a login to it, so that its tools are listed without
   * waiting for a call or a retry, and every session is told. Never rejects: a failure is logged
   * (and, for a shared server, retried as a failed discovery is).
   */
  async refresh(serverId: string, principal?: string): Promise<void> {
    const pool = this.registry.perUser(serverId);
    if (pool !== undefined) {
      if (principal === undefined) return;
      await pool
        .run(principal, upstream => upstream.discover())
        .catch((error: unknown) => {
          this.log.warn(
            { server: serverId, principal, err: describeError(error) },
            'listing after a login failed'
          );
        });
      return;
    }
    const upstream = this.registry.get(serverId);
    if (upstream) await this.discover([upstream], false);
  }

  /** When server `serverId`'s failed discovery is tried again (ISO 8601), or null: none is due. */
  nextDiscovery(serverId: string): string | null {
    const dueAt = this.retries.dueAt(serverId);
    return dueAt === undefined ? null : new Date(dueAt).toISOString();
  }

  /** Cancels the retries of failed discoveries (shutdown). */
  close(): void {
    this.retries.close();
  }

  private async onListed<K extends CapabilityKind>(
    upstream: Upstream,
    kind: K,
    items: Listing[K],
    era: PriorDiscovery
  ): Promise<void> {
    if (!this.serves(upstream)) return;
    const fingerprint = await upstream.fingerprint().catch(() => upstream.spec.fingerprint);
    if (!this.serves(upstream)) return;
    // Read after the await: the kinds of one start arrive together, each merged into the last.
    const previous = this.entries.get(upstream.id);
    const entry: CatalogEntry = {
      ...EMPTY_LISTING,
      ...previous,
      serverId: upstream.id,
      fingerprint,
      era,
      [kind]: items,
      instructions: upstream.instructions,
      capabilities: upstream.capabilities,
      discoveredAt: new Date().toISOString()
    };
    const changed = previous === undefined || JSON.stringify(previous[kind]) !== JSON.stringify(items);
    const same =
      !changed &&
      previous.fingerprint === fingerprint &&
      previous.era.kind === era.kind &&
      previous.instructions === entry.instructions &&
      JSON.stringify(previous.capabilities) === JSON.stringify(entry.capabilities);
    if (same) return;
    this.entries.set(upstream.id, entry);
    this.retries.forget(upstream.id);
    if (changed) this.review(upstream, entry);
    try {
      this.options.store.save(entry);
    } catch (error) {
      this.log.error({ server: upstream.id, err: describeError(error) }, 'saving the catalog entry failed');
    }
    if (changed) {
      this.log.info({ server: upstream.id, kind, count: items.length }, `server ${kind} changed`);
      this.rebuild();
      for (const listener of this.changeListeners) listener(kind);
    }
  }

  /** Reviews a server's listing (what its filters expose) against its pins (see {@link PinKeeper}). */
  private review(upstream: Upstream, entry: CatalogEntry): void {
    this.options.pins?.reviewListing(pinnedServer(upstream), exposable(upstream, entry));
  }

  private rebuild(): void {
    const pins = this.options.pins;
    const sources = [...this.entries.values()].flatMap(entry => {
      const upstream = this.registry.get(entry.serverId);
      if (!upstream) return [];
      const shown = exposable(upstream, entry);
      const serve = (kind: Held['kind'], name: string) => !pins?.isHeld(entry.serverId, kind, name);
      return [
        {
          serverId: entry.serverId,
          namespace: upstream.spec.namespace,
          tools: shown.tools.filter(t => serve('tool', t.name)),
          prompts: shown.prompts.filter(p => serve('prompt', p.name)),
          resources: shown.resources,
          resourceTemplates: shown.resourceTemplates.filter(t => serve('resourceTemplate', t.uriTemplate))
        }
      ];
    });
    this.index = buildToolIndex(sources);
    this.promptIndex = buildNameIndex(sources.map(source => ({ ...source, items: source.prompts })));
    this.resourceIndex = buildResourceIndex(sources);
    this.validators.clear();
    for (const collision of [...this.index.collisions, ...this.promptIndex.collisions]) {
      this.log.warn(
        { name: collision.name, kept: collision.kept, renamed: collision.renamed },
        'two tools or prompts wanted the same name; the second was renamed'
      );
    }
    for (const dropped of this.resourceIndex.dropped) {
      this.log.warn(
        { server: dropped.serverId, uri: dropped.uri },
        'a resource URI or URI template cannot be routed back to its server (not an absolute URI, or a variable in its scheme); not exposed: give it a fixed scheme'
      );
    }
  }
}

/** What a server's filters (tools, prompts, resources in servers.yaml) let through of its entry. */
function exposable(upstream: Upstream, entry: CatalogEntry): Listing {
  const { spec } = upstream;
  const tools = toolFilter(spec.tools);
  const prompts = toolFilter(spec.prompts ?? {});
  const resources = toolFilter(spec.resources ?? {});
  return {
    tools: entry.tools.filter(t => tools(t.name)),
    prompts: entry.prompts.filter(p => prompts(p.name)),
    resources: entry.resources.filter(r => resources(r.uri)),
    resourceTemplates: entry.resourceTemplates.filter(t => resources(t.uriTemplate))
  };
}

/** What a request to a server a reload has just removed (its name was resolved before) fails with. */
function removedServer(serverId: string): GatewayError {
  return new GatewayError(
    'server_unavailable',
    `server ${serverId} is no longer in the config (a reload removed it); list the tools again to see what the gateway serves now`,
    { serverId }
  );
}
