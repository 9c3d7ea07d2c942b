import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { coldStartOf, withColdStart } from './cold-start.js';
import type { Upstream, UpstreamListener } from './upstream.js';

export interface PrincipalUpstreamsOptions {
  /** Makes `principal`'s upstream: a connector opening connections with its tokens only. */
  readonly create: (principal: string) => Upstream;
  /** Starts a login of `principal` to the server and answers the authorization URL to open. */
  readonly startLogin: (principal: string) => Promise<string>;
  readonly log: Logger;
}

/**
 * The upstreams of one server with `credentials: per-user`: one per principal, each with its own
 * connection opened with that principal's tokens, so one principal's token never serves another's
 * request, and its session, log messages and questions stay on its own connection.
 *
 * `base` is the server's own upstream: the catalog's entry for it and its status, which opens
 * nothing itself (its connector refuses: there is no principal to log in as). An upstream for a
 * principal is made on its first request, stopped by its own idle timer like any other, and
 * dropped once stopped (a failed start, its idle stop): the next request makes a new one, so a
 * principal that has gone away holds nothing. Each has its own slots: `maxConcurrency` and
 * `maxQueue` bound each principal's requests, not the server's in total.
 */
export class PrincipalUpstreams {
  private readonly byPrincipal = new Map<string, Upstream>();
  private readonly listeners = new Set<UpstreamListener>();
  private closed = false;

  constructor(
    readonly base: Upstream,
    private readonly options: PrincipalUpstreamsOptions
  ) {}

  /**
   * Runs `use` on `principal`'s upstream. A request refused for want of a login (`login_required`:
   * never logged in, or its grant refused since) fails with that principal's login URL added to the
   * error, a login having been started for it: its first call shows it the way in.
   */
  async run<T>(principal: string, use: (upstream: Upstream) => Promise<T>): Promise<T> {
    try {
      return await use(this.for(principal));
    } catch (error) {
      if (!(error instanceof GatewayError) || error.code !== 'login_required') throw error;
      throw withColdStart(await this.offerLogin(principal, error), coldStartOf(error));
    } finally {
      this.settle(principal);
    }
  }

  private async offerLogin(principal: string, error: GatewayError): Promise<GatewayError> {
    let offer: string;
    try {
      offer = `Or log in now: open ${await this.options.startLogin(principal)} in a browser, then call again`;
    } catch (startError) {
      this.options.log.warn(
        { server: this.base.id, principal, err: describeError(startError) },
        'cannot start a login to offer in a login_required error'
      );
      offer = `(A login could not be started here: ${describeError(startError)})`;
    }
    return new GatewayError('login_required', `${error.message}. ${offer}`, {
      cause: error,
      serverId: this.base.id,
      detail: { login: true }
    });
  }

  /** Adds a listener to every upstream made from now on (not to `base`). */
  addListener(listener: UpstreamListener): void {
    this.listeners.add(listener);
  }

  /** `principal`'s upstream, made on first use (after {@link close}, one closed already, which refuses). */
  for(principal: string): Upstream {
    const existing = this.byPrincipal.get(principal);
    if (existing) return existing;
    const upstream = this.options.create(principal);
    if (this.closed) void upstream.close();
    // The era the server was last seen in: spares each principal's first start the probe.
    upstream.prior ??= this.base.prior;
    for (const listener of this.listeners) upstream.addListener(listener);
    upstream.addListener({
      onState: () => this.settle(principal),
      // What one principal's connection learned of the server's era spares the next one the probe.
      onListed: (_source, _kind, _items, era) => (this.base.prior = era)
    });
    this.byPrincipal.set(principal, upstream);
    return upstream;
  }

  /**
   * Drops `principal`'s upstream if it is stopped with nothing in flight: told after each of its
   * requests (a start that failed with a request waiting) and on each change of its state (an idle
   * stop). A start that failed for want of a login thus never counts toward marking it failed.
   */
  settle(principal: string): void {
    const upstream = this.byPrincipal.get(principal);
    if (upstream?.state === 'stopped' && upstream.status().inFlight === 0) this.byPrincipal.delete(principal);
  }

  /** The principals with an upstream now. */
  get principals(): readonly string[] {
    return [...this.byPrincipal.keys()];
  }

  /** Closes every principal's upstream (shutdown); `base` is its owner's to close. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.byPrincipal.values()].map(upstream => upstream.close()));
  }
}
