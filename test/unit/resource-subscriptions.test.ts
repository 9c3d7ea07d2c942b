import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import type { Catalog, KindRoute } from '../../src/catalog/catalog.js';
import { decodeResourceUri } from '../../src/catalog/resource-uris.js';
import { GatewayError } from '../../src/errors.js';
import { ResourceSubscriptions } from '../../src/sessions/resource-subscriptions.js';
import { silentLog } from '../support/fake-runtime.js';

/** A catalog that routes `test://<server>+…` to `<server>` and records the gateway's own subscriptions. */
function fakeCatalog(failing = new Set<string>()) {
  const upstream: string[] = [];
  const catalog = {
    resolveResource(uri: string): KindRoute {
      const { namespace, uri: name } = decodeResourceUri(uri);
      if (namespace === '') throw new GatewayError('unknown_resource', `Resource URI ${uri} names no server`);
      return { serverId: namespace, namespace, name };
    },
    async subscribeResource(route: KindRoute): Promise<void> {
      await Promise.resolve();
      if (failing.has(route.name)) throw new Error(`server ${route.serverId} refused`);
      upstream.push(`subscribe ${route.name}`);
    },
    async unsubscribeResource(route: KindRoute): Promise<void> {
      await Promise.resolve();
      upstream.push(`unsubscribe ${route.name}`);
    }
  };
  return { catalog: catalog as unknown as Catalog, upstream };
}

const scoped: Principal = { kind: 'token', id: 'token:t', admin: false, servers: ['a'] };
const allows = (principal: Principal | undefined, serverId: string) =>
  principal?.servers === undefined || principal.servers.includes(serverId);
const settle = () => new Promise(resolve => setTimeout(resolve, 10));

describe('ResourceSubscriptions', () => {
  it("tells of each change to a subscriber's URIs as it happens, before the upstream is settled", async () => {
    const { catalog } = fakeCatalog(new Set(['test://bad']));
    const subscriptions = new ResourceSubscriptions(catalog, silentLog, allows);
    const one = {};
    const seen: string[][] = [];
    subscriptions.onChange(subscriber => seen.push(subscriptions.urisOf(subscriber)));
    const pending = subscriptions.subscribe(one, 'test://a+x', undefined, undefined);
    expect(seen).toEqual([['test://a+x']]);
    await pending;
    await expect(subscriptions.subscribe(one, 'test://a+bad', undefined, undefined)).rejects.toThrow(
      /refused/
    );
    expect(seen).toEqual([['test://a+x'], ['test://a+x', 'test://a+bad'], ['test://a+x']]);
    await subscriptions.unsubscribe(one, 'test://a+x');
    expect(seen.at(-1)).toEqual([]);
  });

  it('subscribes upstream once per URI, delivers to its subscribers only, and unsubscribes with the last', async () => {
    const { catalog, upstream } = fakeCatalog();
    const subscriptions = new ResourceSubscriptions(catalog, silentLog, allows);
    const one = {};
    const two = {};
    const got: string[] = [];
    await Promise.all([
      subscriptions.subscribe(one, 'test://a+x', uri => got.push(`one ${uri}`), undefined),
      subscriptions.subscribe(two, 'test://a+x', uri => got.push(`two ${uri}`), undefined)
    ]);
    await subscriptions.subscribe(two, 'test://a+y', uri => got.push(`two ${uri}`), undefined);
    expect(upstream).toEqual(['subscribe test://x', 'subscribe test://y']);

    subscriptions.updated('test://a+x');
    subscriptions.updated('test://a+y');
    expect(got).toEqual(['one test://a+x', 'two test://a+x', 'two test://a+y']);

    await subscriptions.unsubscribe(one, 'test://a+x');
    expect(upstream).toHaveLength(2);
    subscriptions.drop(two);
    await settle();
    expect(upstream.slice(2).sort()).toEqual(['unsubscribe test://x', 'unsubscribe test://y']);
    expect(subscriptions.uris).toEqual([]);
  });

  it('refuses a URI outside the caller’s scope or routing nowhere, and keeps nothing when the server refuses', async () => {
    const { catalog, upstream } = fakeCatalog(new Set(['test://bad']));
    const subscriptions = new ResourceSubscriptions(catalog, silentLog, allows);
    await expect(subscriptions.subscribe({}, 'test://b+x', undefined, scoped)).rejects.toThrow(
      'the resources of server b are outside the scope of token:t'
    );
    await expect(subscriptions.subscribe({}, 'test://x', undefined, undefined)).rejects.toThrow(
      'names no server'
    );
    await expect(subscriptions.subscribe({}, 'test://a+bad', undefined, undefined)).rejects.toThrow(
      'refused'
    );
    expect(upstream).toEqual([]);
    expect(subscriptions.uris).toEqual([]);
    expect(subscriptions.mayUse(scoped, 'test://a+x')).toBe(true);
    expect(subscriptions.mayUse(scoped, 'test://b+x')).toBe(false);
    expect(subscriptions.mayUse(undefined, 'test://x')).toBe(false);
  });
});
