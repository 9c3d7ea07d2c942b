import type { Server } from '@modelcontextprotocol/server';
import { principalOfAuth, type Principal } from '../auth/principal.js';
import type { Catalog } from '../catalog/catalog.js';
import { describeError, GatewayError, toProtocolError } from '../errors.js';
import type { Logger } from '../log.js';

/** How an update reaches one subscriber; none for a 2026-era listen stream, which the SDK's bus serves. */
export type Deliver = ((uri: string) => void) | undefined;

interface Subscription {
  readonly subscribers: Map<object, Deliver>;
  /** The gateway's own subscription upstream: settled once the server has answered it. */
  readonly upstream: Promise<void>;
}

/**
 * Who is subscribed to which resource (by exposed URI), and the gateway's subscriptions upstream
 * that follow from it: the gateway subscribes to a URI at its server while any subscriber (a
 * 2025-era session, a 2026-era `subscriptions/listen` stream) is subscribed to it, and unsubscribes
 * when the last one leaves or closes. `notifications/resources/updated` goes to that URI's
 * subscribers only.
 */
export class ResourceSubscriptions {
  private readonly byUri = new Map<string, Subscription>();
  private readonly changeListeners = new Set<(subscriber: object) => void>();

  /** @param allows whether a principal may use the resources of a server (a token's scope) */
  constructor(
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly allows: (principal: Principal | undefined, serverId: string) => boolean
  ) {}

  /**
   * Subscribes `subscriber` to `uri` for `principal`. Rejects with the routing or scope error, or
   * the server's error when the gateway's own subscription fails (then no one is subscribed to `uri`).
   */
  async subscribe(
    subscriber: object,
    uri: string,
    deliver: Deliver,
    principal: Principal | undefined
  ): Promise<void> {
    const route = this.catalog.resolveResource(uri);
    if (!this.allows(principal, route.serverId)) {
      throw new GatewayError(
        'forbidden',
        `the resources of server ${route.serverId} are outside the scope of ${principal!.id}`
      );
    }
    let subscription = this.byUri.get(uri);
    if (!subscription) {
      const upstream = this.catalog.subscribeResource(route);
      const created: Subscription = { subscribers: new Map(), upstream };
      subscription = created;
      this.byUri.set(uri, created);
      upstream.catch(() => {
        if (this.byUri.get(uri) !== created) return;
        this.byUri.delete(uri);
        for (const each of created.subscribers.keys()) this.changed(each);
      });
    }
    subscription.subscribers.set(subscriber, deliver);
    this.changed(subscriber);
    await subscription.upstream;
  }

  /** Whether `principal` may subscribe to `uri`: it routes to a server within its scope. */
  mayUse(principal: Principal | undefined, uri: string): boolean {
    try {
      return this.allows(principal, this.catalog.resolveResource(uri).serverId);
    } catch {
      return false;
    }
  }

  /** Ends the subscription of `subscriber` to `uri`; the last one out ends the gateway's own. */
  async unsubscribe(subscriber: object, uri: string): Promise<void> {
    const subscription = this.byUri.get(uri);
    if (!subscription?.subscribers.delete(subscriber)) return;
    this.changed(subscriber);
    if (subscription.subscribers.size > 0) return;
    this.byUri.delete(uri);
    try {
      await subscription.upstream;
      await this.catalog.unsubscribeResource(this.catalog.resolveResource(uri));
    } catch (error) {
      // The client is done with it either way; the server may send an update nobody receives.
      this.log.warn({ err: describeError(error), uri }, 'could not unsubscribe from a resource');
    }
  }

  /** Ends every subscription of `subscriber` (its session or stream closed). */
  drop(subscriber: object): void {
    for (const [uri, subscription] of this.byUri) {
      if (subscription.subscribers.has(subscriber)) void this.unsubscribe(subscriber, uri);
    }
  }

  /** Delivers an update of `uri` to its subscribers. */
  updated(uri: string): void {
    for (const deliver of this.byUri.get(uri)?.subscribers.values() ?? []) deliver?.(uri);
  }

  /**
   * Tells `listener` of each change to the URIs a subscriber is subscribed to, as it happens: a
   * subscription is told before the gateway's own upstream is settled (and again if that fails).
   */
  onChange(listener: (subscriber: object) => void): void {
    this.changeListeners.add(listener);
  }

  private changed(subscriber: object): void {
    for (const listener of this.changeListeners) listener(subscriber);
  }

  /** The URIs `subscriber` is subscribed to now. */
  urisOf(subscriber: object): string[] {
    return [...this.byUri]
      .filter(([, subscription]) => subscription.subscribers.has(subscriber))
      .map(([uri]) => uri);
  }

  /** URIs someone is subscribed to now. */
  get uris(): string[] {
    return [...this.byUri.keys()];
  }
}

/**
 * Answers `resources/subscribe` and `resources/unsubscribe` on a client-facing `server` (a
 * 2025-era session's) from `subscriptions`, and drops the session's subscriptions when it closes.
 */
export function serveResourceSubscriptions(
  server: Server,
  subscriptions: ResourceSubscriptions,
  /** Throws for a URI the server's client may not subscribe to (one outside its profile). */
  admit: (uri: string) => void = () => {}
): void {
  const deliver = (uri: string) => void server.sendResourceUpdated({ uri }).catch(() => undefined);
  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    try {
      admit(request.params.uri);
      await subscriptions.subscribe(server, request.params.uri, deliver, principalOfAuth(ctx.http?.authInfo));
      return {};
    } catch (error) {
      throw toProtocolError(error);
    }
  });
  server.setRequestHandler('resources/unsubscribe', async request => {
    await subscriptions.unsubscribe(server, request.params.uri);
    return {};
  });
  const previous = server.onclose;
  server.onclose = () => {
    subscriptions.drop(server);
    previous?.();
  };
}
