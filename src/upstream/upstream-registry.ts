import { liveChanges } from '../config/live-settings.js';
import type { ServerSpec } from '../config/server-spec.js';
import { describeError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { PrincipalUpstreams } from './principal-upstreams.js';
import type { Upstream } from './upstream.js';

/** One configured server as the gateway serves it: its upstream, and per principal for `credentials: per-user`. */
export interface Served {
  readonly upstream: Upstream;
  /** Set for a remote server with `credentials: per-user`; `upstream` is then its `base`. */
  readonly perUser: PrincipalUpstreams | undefined;
}

/** What the registry tells the parts that follow the set of servers. Listeners must not throw. */
export interface RegistryListener {
  onAdded?(served: Served): void;
  /** `served` is out of the set: nothing new reaches it; it drains and closes on its own. */
  onRemoved?(served: Served): void;
  /** The server's settings changed: `after` serves it from now on, `before` drains and closes. */
  onReplaced?(before: Served, after: Served): void;
  /** Only the server's live settings changed: its upstream has taken them in place. */
  onUpdated?(served: Served): void;
  /** A reload found the server's settings the same: it keeps its upstream, as it is. */
  onKept?(served: Served): void;
}

/** How a new list of specs differs from the registry's: by server id. */
export interface SpecDiff {
  readonly added: readonly ServerSpec[];
  readonly removed: readonly string[];
  /** Anything about the server differs: the old upstream is drained and a new one made. */
  readonly changed: readonly ServerSpec[];
  /** Only live settings differ (liveChanges): its upstream takes them in place, a warm server stays warm. */
  readonly updated: readonly ServerSpec[];
  /** Everything is the same: its upstream is kept as it is (a warm server stays warm). */
  readonly unchanged: readonly string[];
}

export interface UpstreamRegistryOptions {
  /** Makes what serves `spec` (an upstream, and its per-principal pool when per-user). */
  readonly create: (spec: ServerSpec) => Served;
  /** How long a replaced or removed server's calls in flight may run on before it is closed anyway. */
  readonly drainMs: number;
  readonly log: Logger;
}

/**
 * The one owner of the set of servers. The catalog, the API, observability, health and shutdown
 * read the set here (`get`, `all`) and follow its changes (`each`, `subscribe`) rather than copy a
 * list when they are built, so a server can come and go while the gateway runs (hot reload).
 *
 * `apply` swaps the set at once (a request that starts after it reaches the new upstream); the
 * upstreams it took out drain in the background: their calls in flight finish (for `drainMs` at
 * most), then they close, which fails what is still running.
 */
export class UpstreamRegistry {
  private readonly byId = new Map<string, Served>();
  private readonly attachers = new Set<(served: Served) => void>();
  private readonly listeners = new Set<RegistryListener>();
  /** Upstreams taken out and still draining: shutdown waits for them too. */
  private readonly draining = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: UpstreamRegistryOptions) {}

  /**
   * A registry holding `upstreams` (and the per-user `pools` among them) that never changes: for
   * parts built on their own (tests). `apply` on it fails.
   */
  static fixed(upstreams: readonly Upstream[], pools: readonly PrincipalUpstreams[]): UpstreamRegistry {
    const registry = new UpstreamRegistry({
      create: spec => {
        throw new Error(`a fixed registry cannot add server ${spec.id}`);
      },
      drainMs: 0,
      log: createLogger('silent')
    });
    const poolOf = new Map(pools.map(pool => [pool.base.id, pool]));
    for (const upstream of upstreams) registry.put({ upstream, perUser: poolOf.get(upstream.id) });
    return registry;
  }

  /** Fills an empty registry (startup): every server is added, with no events. */
  load(specs: readonly ServerSpec[]): void {
    for (const spec of specs) this.put(this.options.create(spec));
  }

  /** The upstream of server `id` now, if the config has it. */
  get(id: string): Upstream | undefined {
    return this.byId.get(id)?.upstream;
  }

  /** The per-principal upstreams of server `id`, if it has `credentials: per-user`. */
  perUser(id: string): PrincipalUpstreams | undefined {
    return this.byId.get(id)?.perUser;
  }

  /** Every server's upstream now, in config order. */
  all(): readonly Upstream[] {
    return [...this.byId.values()].map(served => served.upstream);
  }

  /** Every server with `credentials: per-user` now. */
  pools(): readonly PrincipalUpstreams[] {
    return [...this.byId.values()].flatMap(served => (served.perUser ? [served.perUser] : []));
  }

  /** The specs of every server now. */
  specs(): readonly ServerSpec[] {
    return this.all().map(upstream => upstream.spec);
  }

  /** True while some server taken out by a reload still has calls in flight. */
  get busy(): boolean {
    return this.all().some(upstream => upstream.status().inFlight > 0) || this.draining.size > 0;
  }

  /**
   * Runs `attach` on every server now and on every one added later (by `apply`, a change
   * included): where a part puts its listeners on upstreams. Returns its remover.
   */
  each(attach: (served: Served) => void): () => void {
    for (const served of this.byId.values()) attach(served);
    this.attachers.add(attach);
    return () => this.attachers.delete(attach);
  }

  /** Tells `listener` of every server added, removed and replaced from now on; returns its remover. */
  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How `specs` differ from the servers now (a pure comparison; nothing changes). */
  diff(specs: readonly ServerSpec[]): SpecDiff {
    return diffSpecs(this.specs(), specs);
  }

  /**
   * Makes the set of servers that of `specs`, by difference: unchanged servers keep their upstream,
   * updated ones too (taking their new live settings), changed ones get a new one, removed ones go;
   * each change is told to the listeners. Returns the difference applied at once; the drains go on
   * in the background (see {@link drained}).
   */
  apply(specs: readonly ServerSpec[]): SpecDiff {
    const diff = this.diff(specs);
    const removed = diff.removed.map(id => this.byId.get(id)!);
    for (const served of removed) {
      this.byId.delete(served.upstream.id);
      this.retire(served, 'removed from the config');
      for (const listener of this.listeners) listener.onRemoved?.(served);
    }
    const changed = new Set(diff.changed.map(spec => spec.id));
    const next = new Map<string, Served>();
    for (const spec of specs) {
      const before = this.byId.get(spec.id);
      if (before && !changed.has(spec.id)) {
        next.set(spec.id, before);
        continue;
      }
      const after = this.options.create(spec);
      next.set(spec.id, after);
      if (before) this.retire(before, 'its settings changed');
    }
    // Rebuilt in the new config's order (only new upstreams are attached), then the parts are told.
    const previous = new Map(this.byId);
    this.byId.clear();
    for (const served of next.values()) {
      if (previous.get(served.upstream.id) === served) this.byId.set(served.upstream.id, served);
      else this.put(served);
    }
    for (const spec of diff.changed) {
      const before = previous.get(spec.id)!;
      const after = next.get(spec.id)!;
      for (const listener of this.listeners) listener.onReplaced?.(before, after);
    }
    for (const spec of diff.added) {
      const added = next.get(spec.id)!;
      for (const listener of this.listeners) listener.onAdded?.(added);
    }
    for (const spec of diff.updated) {
      const served = next.get(spec.id)!;
      const settings = served.upstream.update(spec);
      this.options.log.info(
        { server: spec.id, settings },
        `server ${spec.id}: ${settings.join(', ')} changed; applied in place, its connection kept`
      );
      for (const listener of this.listeners) listener.onUpdated?.(served);
    }
    for (const id of diff.unchanged) {
      const kept = next.get(id)!;
      for (const listener of this.listeners) listener.onKept?.(kept);
    }
    return diff;
  }

  /** Resolves when every upstream taken out so far has drained and closed. */
  async drained(): Promise<void> {
    while (this.draining.size > 0) await Promise.all([...this.draining]);
  }

  /** Shutdown: closes every upstream (those draining included); none is made after. */
  async close(): Promise<void> {
    this.closed = true;
    const served = [...this.byId.values()];
    await Promise.all([
      ...served.flatMap(({ upstream, perUser }) => [upstream.close(), ...(perUser ? [perUser.close()] : [])]),
      this.drained()
    ]);
  }

  private put(served: Served): void {
    this.byId.set(served.upstream.id, served);
    if (this.closed) {
      void served.upstream.close();
      void served.perUser?.close();
    }
    for (const attach of this.attachers) attach(served);
  }

  /** Lets `served`'s calls in flight finish (bounded by `drainMs`), then closes it. */
  private retire(served: Served, why: string): void {
    const { upstream, perUser } = served;
    const log = this.options.log;
    const drain = (async () => {
      const deadline = Date.now() + this.options.drainMs;
      const busy = () =>
        upstream.status().inFlight > 0 ||
        (perUser?.principals ?? []).some(principal => perUser!.for(principal).status().inFlight > 0);
      // Shutdown has drained the gateway's calls already: it cuts these drains short.
      while (busy() && !this.closed && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50));
      }
      if (busy()) {
        log.warn(
          { server: upstream.id, drainMs: this.options.drainMs },
          `server ${upstream.id} was ${why}; its calls still running after the drain are failed`
        );
      }
      await Promise.all([upstream.close(), perUser?.close()]);
      log.info({ server: upstream.id }, `server ${upstream.id} stopped: ${why}`);
    })().catch((error: unknown) =>
      log.error({ server: upstream.id, err: describeError(error) }, `closing server ${upstream.id} failed`)
    );
    const tracked = drain.finally(() => this.draining.delete(tracked));
    this.draining.add(tracked);
  }
}

/**
 * How `next` differs from `current`, by server id. A server is unchanged only when its whole spec
 * is: its fingerprint (what decides its tools: image, command, env, URL…) and the settings beside
 * it (namespace, timeouts, limits, filters). One whose live settings alone differ (description,
 * timeouts, limits: see live-settings.ts) is updated in place; any other change replaces it.
 */
export function diffSpecs(current: readonly ServerSpec[], next: readonly ServerSpec[]): SpecDiff {
  const before = new Map(current.map(spec => [spec.id, spec]));
  const nextIds = new Set(next.map(spec => spec.id));
  const added: ServerSpec[] = [];
  const changed: ServerSpec[] = [];
  const updated: ServerSpec[] = [];
  const unchanged: string[] = [];
  for (const spec of next) {
    const old = before.get(spec.id);
    if (old === undefined) added.push(spec);
    else if (old.fingerprint === spec.fingerprint && canonical(old) === canonical(spec))
      unchanged.push(spec.id);
    else if (liveChanges(old, spec) !== undefined) updated.push(spec);
    else changed.push(spec);
  }
  const removed = current.filter(spec => !nextIds.has(spec.id)).map(spec => spec.id);
  return { added, removed, changed, updated, unchanged };
}

/** A spec as comparable text (a URL as its href). */
function canonical(spec: ServerSpec): string {
  return JSON.stringify(spec);
}
