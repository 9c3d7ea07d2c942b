import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { Connector } from '../../src/connectors/connector.js';
import { GatewayError } from '../../src/errors.js';
import { PrincipalUpstreams } from '../../src/upstream/principal-upstreams.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { fakeConnector, FakeRuntime, fakeSpec, silentLog } from '../support/fake-runtime.js';
import { waitUntil } from '../support/gateway-process.js';
import { memoryDatabase } from '../support/memory-database.js';

let runtime: FakeRuntime;
const closing: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  runtime = new FakeRuntime();
});

afterEach(async () => {
  while (closing.length > 0) await closing.pop()!();
  await runtime.stopAll();
});

const spec = fakeSpec('docs', { idleTimeoutMs: 100 });

function upstreamWith(connector: Connector): Upstream {
  const upstream = new Upstream({
    spec,
    connector,
    identity: { name: 'test-gateway', version: '0.0.0' },
    log: silentLog,
    startTimeoutMs: 5_000
  });
  closing.push(() => upstream.close());
  return upstream;
}

/** The server's own upstream opens nothing, as a per-user server's does without a principal. */
const nothing: Connector = { open: () => Promise.reject(new Error('the base upstream must never open')) };

function perUser(
  connectorOf: (principal: string) => Connector = () => fakeConnector(spec, runtime),
  startLogin = (principal: string) => Promise.resolve(`https://as.example/authorize?for=${principal}`)
) {
  const pool = new PrincipalUpstreams(upstreamWith(nothing), {
    create: principal => upstreamWith(connectorOf(principal)),
    startLogin,
    log: silentLog
  });
  closing.push(() => pool.close());
  return pool;
}

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('PrincipalUpstreams', () => {
  it("runs each principal's calls on its own connection, and drops one once idle-stopped", async () => {
    const pool = perUser();
    const whoami = (principal: string) => pool.run(principal, upstream => upstream.callTool('whoami', {}));
    const alice = text((await whoami('token:alice')).result);
    const bob = text((await whoami('token:bob')).result);
    expect(alice).not.toBe(bob);
    expect(text((await whoami('token:alice')).result)).toBe(alice);
    expect(runtime.started).toHaveLength(2);
    expect(pool.principals).toEqual(['token:alice', 'token:bob']);
    await waitUntil(() => pool.principals.length === 0, 5_000);
    expect(pool.base.state).toBe('stopped');
    // The era the principals' connections learned is kept for the next principal's first start.
    expect(pool.base.prior?.kind).toBeDefined();
  });

  it('offers the principal its own login URL when its connection needs a login, and keeps nothing', async () => {
    const refusing: Connector = {
      open: () =>
        Promise.reject(
          new GatewayError('login_required', 'server "docs" needs an OAuth login for token:bob', {
            serverId: 'docs'
          })
        )
    };
    const pool = perUser(() => refusing);
    for (let attempt = 0; attempt < 4; attempt++) {
      // Never marked failed for want of a login: each call offers the login again.
      await expect(pool.run('token:bob', upstream => upstream.callTool('echo', {}))).rejects.toMatchObject({
        code: 'login_required',
        message: expect.stringMatching(
          /needs an OAuth login for token:bob\. Or log in now: open https:\/\/as\.example\/authorize\?for=token:bob in a browser/
        )
      });
    }
    expect(pool.principals).toEqual([]);
  });

  it('starts nothing for a principal new after shutdown began', async () => {
    const pool = perUser();
    await pool.close();
    await expect(pool.run('token:carol', upstream => upstream.callTool('echo', {}))).rejects.toMatchObject({
      code: 'server_unavailable',
      message: 'the gateway is shutting down'
    });
    expect(runtime.started).toEqual([]);
  });
});

describe('Catalog with a per-user server', () => {
  it('never discovers it, refuses a call with no principal, and lists it once a principal has connected', async () => {
    const db = memoryDatabase();
    closing.push(() => Promise.resolve(db.close()));
    const pool = perUser();
    const catalog = new Catalog({
      upstreams: [pool.base],
      store: new CatalogStore(db),
      log: silentLog,
      perUser: [pool]
    });
    await catalog.start();
    await catalog.settled();
    expect(runtime.started).toEqual([]);
    expect(await catalog.listTools(0)).toEqual([]);

    await expect(catalog.callTool('docs__echo', { text: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('server docs has credentials: per-user')
    });
    expect(runtime.started).toEqual([]);

    const outcome = await catalog.callTool('docs__echo', { text: 'hi' }, { principal: 'token:alice' });
    expect(text(outcome.result)).toContain('hi');
    await waitUntil(async () => (await catalog.listTools(0)).some(tool => tool.name === 'docs__echo'), 5_000);
    expect(catalog.capabilitiesOf('docs')).toBeDefined();
  });
});
