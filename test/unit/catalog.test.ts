import { DatabaseSync } from 'node:sqlite';
import type { PriorDiscovery, Tool } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore, type CatalogEntry } from '../../src/catalog/catalog-store.js';
import { DiscoveryRetries } from '../../src/catalog/discovery-retries.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import { GatewayError } from '../../src/errors.js';
import { UpstreamRegistry } from '../../src/upstream/upstream-registry.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import * as z from 'zod/v4';
import { FakeRuntime, fakeSpec, silentLog, fakeUpstream } from '../support/fake-runtime.js';
import { memoryDatabase } from '../support/memory-database.js';

const tool = (name: string, description = `the ${name} tool`): Tool => ({
  name,
  description,
  inputSchema: { type: 'object', properties: {} }
});

function entry(spec: ProcessSpec, tools: Tool[], overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    serverId: spec.id,
    fingerprint: spec.fingerprint,
    era: { kind: 'legacy' },
    tools,
    prompts: [],
    resources: [],
    resourceTemplates: [],
    discoveredAt: '2026-01-01T00:00:00.000Z',
    ...overrides
  };
}

let db: DatabaseSync;
let store: CatalogStore;
let runtime: FakeRuntime;
const upstreams: Upstream[] = [];

beforeEach(() => {
  db = memoryDatabase();
  store = new CatalogStore(db);
  runtime = new FakeRuntime();
});

afterEach(async () => {
  await Promise.all(upstreams.splice(0).map(u => u.close()));
  await runtime.stopAll();
  db.close();
});

function upstreamFor(spec: ProcessSpec): Upstream {
  const upstream = fakeUpstream(spec, runtime);
  upstreams.push(upstream);
  return upstream;
}

async function startCatalog(specs: ProcessSpec[]) {
  const list = specs.map(upstreamFor);
  const catalog = new Catalog({ upstreams: list, store, log: silentLog });
  await catalog.start();
  return { catalog, upstreams: new Map(list.map(u => [u.id, u])) };
}

const names = (tools: readonly Tool[]) => tools.map(t => t.name);
const text = (result: { content: unknown[] }) => (result.content[0] as { text: string }).text;

describe('CatalogStore', () => {
  it('round-trips entries and replaces an entry on save', () => {
    const spec = fakeSpec('alpha');
    const first = entry(spec, [tool('a')]);
    store.save(first);
    expect(store.loadAll()).toEqual([first]);
    const modern: PriorDiscovery = {
      kind: 'modern',
      discover: { supportedVersions: ['2026-07-28'] } as unknown as Extract<
        PriorDiscovery,
        { kind: 'modern' }
      >['discover']
    };
    const second = entry(spec, [tool('b')], { fingerprint: 'other', era: modern });
    store.save(second);
    expect(store.loadAll()).toEqual([second]);
  });

  it('skips a damaged row', () => {
    store.save(entry(fakeSpec('alpha'), [tool('a')]));
    db.prepare(
      `INSERT INTO catalog (server_id, fingerprint, era, tools, discovered_at) VALUES ('bad', 'f', '{', '[]', 'x')`
    ).run();
    expect(store.loadAll().map(e => e.serverId)).toEqual(['alpha']);
  });
});

describe('Catalog', () => {
  it('answers listTools from stored entries without starting any server', async () => {
    const alpha = fakeSpec('alpha');
    const beta = fakeSpec('beta', { namespace: '' });
    store.save(entry(alpha, [tool('echo'), tool('slow')]));
    store.save(entry(beta, [tool('whoami', '')]));
    const { catalog } = await startCatalog([alpha, beta]);
    expect(catalog.discovering).toBe(false);
    const tools = await catalog.listTools(1_000);
    expect(names(tools)).toEqual(['alpha__echo', 'alpha__slow', 'whoami']);
    expect(tools[0]).toEqual({
      name: 'alpha__echo',
      description: '[alpha] the echo tool',
      inputSchema: { type: 'object', properties: {} }
    });
    expect(tools[2]!.description).toBe('[beta]');
    await catalog.settled();
    expect(runtime.starts).toBe(0);
  });

  it('ignores stored entries of servers that are no longer configured', async () => {
    const alpha = fakeSpec('alpha');
    store.save(entry(alpha, [tool('echo')]));
    store.save(entry(fakeSpec('gone'), [tool('old')]));
    const { catalog } = await startCatalog([alpha]);
    expect(names(await catalog.listTools(0))).toEqual(['alpha__echo']);
    expect(() => catalog.resolve('gone__old')).toThrow(GatewayError);
  });

  it('discovers servers with no stored entry at start, then stops them', async () => {
    const alpha = fakeSpec('alpha');
    const beta = fakeSpec('beta');
    store.save(entry(alpha, [tool('echo')]));
    runtime.tools = ['echo', 'whoami'];
    const { catalog, upstreams } = await startCatalog([alpha, beta]);
    expect(catalog.discovering).toBe(true);
    const tools = await catalog.listTools(5_000);
    expect(catalog.discovering).toBe(false);
    expect(names(tools)).toEqual(['alpha__echo', 'beta__echo', 'beta__whoami']);
    expect(runtime.startsOf('alpha')).toBe(0);
    expect(runtime.startsOf('beta')).toBe(1);
    expect(runtime.running).toBe(0);
    expect(upstreams.get('beta')!.state).toBe('stopped');

    const stored = store.loadAll().find(e => e.serverId === 'beta');
    expect(stored).toMatchObject({ fingerprint: beta.fingerprint, era: { kind: 'modern' } });
    expect(names(stored!.tools).sort()).toEqual(['echo', 'whoami']);
  });

  it('answers with what is known when listTools stops waiting for discovery', async () => {
    runtime.startDelayMs = 1_000;
    const { catalog } = await startCatalog([fakeSpec('alpha')]);
    const began = performance.now();
    expect(await catalog.listTools(50)).toEqual([]);
    expect(performance.now() - began).toBeLessThan(900); // not the 1 s that discovery takes
    await catalog.settled();
    expect(names(await catalog.listTools(0)).length).toBeGreaterThan(0);
  });

  it('does not discover an unavailable server', async () => {
    const { catalog } = await startCatalog([fakeSpec('alpha', { unavailable: 'TOKEN is not set' })]);
    await catalog.settled();
    expect(await catalog.listTools(0)).toEqual([]);
    expect(runtime.starts).toBe(0);
  });

  it('keeps going when a discovery fails', async () => {
    runtime.failStarts = 1;
    const { catalog } = await startCatalog([fakeSpec('alpha'), fakeSpec('beta')]);
    await catalog.settled();
    expect(catalog.discovering).toBe(false);
    const discovered = new Set(names(await catalog.listTools(0)).map(n => n.split('__')[0]));
    expect(discovered.size).toBe(1);
    expect(runtime.running).toBe(0);
  });

  it('tries a failed discovery again, later each time, until the server lists; no server runs meanwhile', async () => {
    runtime.failStarts = 2;
    const retries = new DiscoveryRetries(20, 1_000);
    const list = [fakeSpec('alpha')].map(upstreamFor);
    const catalog = new Catalog({ upstreams: list, store, log: silentLog, discoveryRetries: retries });
    const changed: string[] = [];
    catalog.onChanged(kind => changed.push(kind));
    await catalog.start();
    await catalog.settled();
    expect(await catalog.listTools(0)).toEqual([]);
    await vi.waitFor(() => expect(runtime.starts).toBe(2), { timeout: 2_000 });
    expect(retries.dueAt('alpha')).toBeDefined(); // the second failure scheduled a third try, later
    await vi.waitFor(async () => expect(names(await catalog.listTools(0))).toContain('alpha__echo'), {
      timeout: 2_000
    });
    expect(runtime.starts).toBe(3);
    expect(retries.dueAt('alpha')).toBeUndefined();
    expect(changed).toContain('tools');
    await vi.waitFor(() => expect(runtime.running).toBe(0));
    catalog.close();
  });

  it('refreshes a server on request (a login), and stops retrying once it is listed that way', async () => {
    runtime.failStarts = 1;
    const retries = new DiscoveryRetries(60_000, 60_000);
    const list = [fakeSpec('alpha')].map(upstreamFor);
    const catalog = new Catalog({ upstreams: list, store, log: silentLog, discoveryRetries: retries });
    await catalog.start();
    await catalog.settled();
    expect(retries.dueAt('alpha')).toBeDefined();
    await catalog.refresh('alpha');
    expect(names(await catalog.listTools(0))).toContain('alpha__echo');
    expect(retries.dueAt('alpha')).toBeUndefined();
    catalog.close();
  });

  it('tries a failed discovery again at once when a reload keeps the server as it was', async () => {
    runtime.failStarts = 1;
    const retries = new DiscoveryRetries(60_000, 60_000);
    const alpha = fakeSpec('alpha');
    const registry = new UpstreamRegistry({
      create: spec => ({ upstream: upstreamFor(spec as ProcessSpec), perUser: undefined }),
      drainMs: 1_000,
      log: silentLog
    });
    registry.apply([alpha]);
    const catalog = new Catalog({ upstreams: registry, store, log: silentLog, discoveryRetries: retries });
    await catalog.start();
    await catalog.settled();
    expect(retries.dueAt('alpha')).toBeDefined(); // next try a minute away
    registry.apply([alpha]); // a reload (SIGHUP) with nothing changed
    await vi.waitFor(async () => expect(names(await catalog.listTools(0))).toContain('alpha__echo'));
    expect(retries.dueAt('alpha')).toBeUndefined();
    catalog.close();
    await registry.close();
  });

  it('rediscovers a server whose fingerprint changed', async () => {
    const alpha = fakeSpec('alpha');
    store.save(entry(alpha, [tool('old')], { fingerprint: 'an-older-fingerprint' }));
    runtime.tools = ['echo'];
    const { catalog, upstreams } = await startCatalog([alpha]);
    expect(upstreams.get('alpha')!.prior).toBeUndefined();
    await catalog.settled();
    expect(runtime.starts).toBe(1);
    expect(names(await catalog.listTools(0))).toEqual(['alpha__echo']);
    expect(store.loadAll()).toEqual([
      expect.objectContaining({ serverId: 'alpha', fingerprint: alpha.fingerprint })
    ]);
    expect(runtime.running).toBe(0);
  });

  it("includes the runtime's identity in the fingerprint", async () => {
    const alpha = fakeSpec('alpha');
    runtime.identity = 'sha256:image-1';
    store.save(entry(alpha, [tool('stored')], { fingerprint: `${alpha.fingerprint}:sha256:image-1` }));
    const { catalog, upstreams } = await startCatalog([alpha]);
    expect(upstreams.get('alpha')!.prior).toEqual({ kind: 'legacy' });
    await catalog.settled();
    expect(runtime.starts).toBe(0);
    expect(names(await catalog.listTools(0))).toEqual(['alpha__stored']);
  });

  it('rediscovers when the runtime identity changed (a new image)', async () => {
    const alpha = fakeSpec('alpha');
    runtime.identity = 'sha256:image-2';
    runtime.tools = ['echo'];
    store.save(entry(alpha, [tool('stored')], { fingerprint: `${alpha.fingerprint}:sha256:image-1` }));
    const { catalog } = await startCatalog([alpha]);
    await catalog.settled();
    expect(runtime.starts).toBe(1);
    expect(names(await catalog.listTools(0))).toEqual(['alpha__echo']);
    expect(store.loadAll()[0]!.fingerprint).toBe(`${alpha.fingerprint}:sha256:image-2`);
  });

  it('trusts an entry whose config part matches when the runtime cannot identify the server now', async () => {
    const alpha = fakeSpec('alpha');
    const beta = fakeSpec('beta');
    runtime.identity = new Error('engine unreachable');
    store.save(entry(alpha, [tool('stored')], { fingerprint: `${alpha.fingerprint}:sha256:image-1` }));
    store.save(entry(beta, [tool('other')], { fingerprint: `not-${beta.fingerprint}:sha256:image-1` }));
    runtime.failStarts = 1;
    const { catalog, upstreams } = await startCatalog([alpha, beta]);
    expect(upstreams.get('alpha')!.prior).toEqual({ kind: 'legacy' });
    expect(upstreams.get('beta')!.prior).toBeUndefined();
    await catalog.settled();
    expect(runtime.started.map(s => s.id)).toEqual(['beta']);
  });

  it('applies the allow and deny filters', async () => {
    const alpha = fakeSpec('alpha', { tools: { allow: ['e*', 's*', 'whoami'], deny: ['slow', '*secret*'] } });
    store.save(
      entry(alpha, [tool('echo'), tool('slow'), tool('search'), tool('get_secret'), tool('whoami')])
    );
    const beta = fakeSpec('beta', { tools: { deny: ['wh?ami'] } });
    store.save(entry(beta, [tool('echo'), tool('whoami')]));
    const { catalog } = await startCatalog([alpha, beta]);
    expect(names(await catalog.listTools(0))).toEqual([
      'alpha__echo',
      'alpha__search',
      'alpha__whoami',
      'beta__echo'
    ]);
    await expect(catalog.callTool('alpha__slow', { ms: 1 })).rejects.toMatchObject({ code: 'unknown_tool' });
    await expect(catalog.callTool('beta__whoami', {})).rejects.toMatchObject({ code: 'unknown_tool' });
    expect(runtime.starts).toBe(0);
  });

  it('applies the filters to discovered tools', async () => {
    runtime.tools = ['echo', 'slow', 'whoami'];
    const { catalog } = await startCatalog([fakeSpec('alpha', { tools: { deny: ['slow'] } })]);
    await catalog.settled();
    expect(names(await catalog.listTools(0))).toEqual(['alpha__echo', 'alpha__whoami']);
  });

  it('routes ns__tool to the right server with its own tool name', async () => {
    const alpha = fakeSpec('alpha');
    const beta = fakeSpec('beta');
    const plain = fakeSpec('plain', { namespace: '' });
    for (const spec of [alpha, beta, plain]) store.save(entry(spec, [tool('echo'), tool('whoami')]));
    const { catalog } = await startCatalog([alpha, beta, plain]);

    const outcome = await catalog.callTool('beta__echo', { text: 'to beta' });
    expect(outcome.route).toEqual({ serverId: 'beta', tool: 'echo' });
    expect(outcome.result).toMatchObject({ structuredContent: { text: 'to beta' }, _meta: { fake: 'beta' } });
    expect(runtime.calls).toEqual([
      { serverId: 'beta', instance: 1, tool: 'echo', args: { text: 'to beta' } }
    ]);

    expect(text((await catalog.callTool('alpha__whoami', {})).result)).toBe('alpha#2');
    expect(text((await catalog.callTool('whoami', {})).result)).toBe('plain#3');
    expect(runtime.started.map(s => s.id)).toEqual(['beta', 'alpha', 'plain']);
  });

  it('routes a tool whose own name contains the separator', async () => {
    runtime.customize = server =>
      server.registerTool('get__thing', { description: 'double underscore' }, () => ({
        content: [{ type: 'text', text: 'got it' }]
      }));
    const alpha = fakeSpec('alpha');
    store.save(entry(alpha, [tool('get__thing')]));
    const { catalog } = await startCatalog([alpha]);
    expect(names(await catalog.listTools(0))).toEqual(['alpha__get__thing']);
    const outcome = await catalog.callTool('alpha__get__thing', {});
    expect(outcome.route).toEqual({ serverId: 'alpha', tool: 'get__thing' });
    expect(text(outcome.result)).toBe('got it');
  });

  it('routes by name to a server whose discovery failed, so the server can answer', async () => {
    runtime.failStarts = 1;
    const { catalog } = await startCatalog([fakeSpec('alpha')]);
    await catalog.settled();
    expect(await catalog.listTools(0)).toEqual([]);
    const outcome = await catalog.callTool('alpha__echo', { text: 'late' });
    expect(outcome.route).toEqual({ serverId: 'alpha', tool: 'echo' });
    expect(text(outcome.result)).toBe('late');
  });

  it('throws unknown_tool naming the tool for names it cannot route', async () => {
    const alpha = fakeSpec('alpha');
    store.save(entry(alpha, [tool('echo')]));
    const { catalog } = await startCatalog([alpha]);
    for (const name of ['nope__x', 'alpha__missing', 'echo', '__echo']) {
      const call = catalog.callTool(name, {});
      await expect(call).rejects.toBeInstanceOf(GatewayError);
      await expect(call).rejects.toMatchObject({
        code: 'unknown_tool',
        message: expect.stringContaining(name)
      });
    }
    expect(runtime.starts).toBe(0);
  });

  it('fires onChanged when a server comes back with different tools, not when they are the same', async () => {
    const alpha = fakeSpec('alpha');
    runtime.tools = ['echo', 'slow'];
    const first = await startCatalog([alpha]);
    await first.catalog.settled();
    const upstream = first.upstreams.get('alpha')!;

    // A second gateway run: the same store, fresh upstreams.
    const { catalog, upstreams: second } = await startCatalog([alpha]);
    const again = second.get('alpha')!;
    let changes = 0;
    const remove = catalog.onChanged(() => {
      changes++;
    });
    const listed = new Promise<void>(resolve => {
      again.addListener({
        onListed: (_, kind) => kind === 'tools' && resolve()
      });
    });
    expect(again).not.toBe(upstream);

    // Same tools as stored: no change.
    await catalog.callTool('alpha__echo', { text: 'x' });
    await listed;
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(changes).toBe(0);

    // The server's next start lists different tools.
    await again.stop('test');
    runtime.tools = ['echo', 'whoami'];
    await catalog.callTool('alpha__echo', { text: 'y' });
    await vi.waitFor(() => expect(changes).toBe(1));
    expect(names(await catalog.listTools(0))).toEqual(['alpha__echo', 'alpha__whoami']);
    expect(names(store.loadAll()[0]!.tools).sort()).toEqual(['echo', 'whoami']);

    // And once more with the same list: nothing.
    await again.stop('test');
    await catalog.callTool('alpha__whoami', {});
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(changes).toBe(1);

    remove();
    await again.stop('test');
    runtime.tools = ['echo'];
    await catalog.callTool('alpha__echo', { text: 'z' });
    await vi.waitFor(async () => expect(names(await catalog.listTools(0))).toEqual(['alpha__echo']));
    expect(changes).toBe(1);
  });

  it('fires onChanged exactly once for a first discovery', async () => {
    const alpha = fakeSpec('alpha');
    const upstream = upstreamFor(alpha);
    const catalog = new Catalog({ upstreams: [upstream], store, log: silentLog });
    let changes = 0;
    catalog.onChanged(() => changes++);
    await catalog.start();
    await catalog.settled();
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(names(await catalog.listTools(0)).length).toBeGreaterThan(0);
    expect(changes).toBe(1);
  });

  it('sets the stored era on upstreams from stored entries', async () => {
    const alpha = fakeSpec('alpha');
    const beta = fakeSpec('beta');
    const gamma = fakeSpec('gamma');
    store.save(entry(alpha, [tool('echo')], { era: { kind: 'legacy' } }));
    store.save(entry(gamma, [tool('echo')], { era: { kind: 'legacy' }, fingerprint: 'stale' }));
    runtime.startDelayMs = 200;
    const { catalog, upstreams } = await startCatalog([alpha, beta, gamma]);
    expect(upstreams.get('alpha')!.prior).toEqual({ kind: 'legacy' });
    expect(upstreams.get('beta')!.prior).toBeUndefined();
    expect(upstreams.get('gamma')!.prior).toBeUndefined();
    await catalog.settled();
  });

  it('connects with the stored era: a 2025-era server that dies on the probe starts once', async () => {
    runtime.legacyOnly = true;
    runtime.exitOnProbe = true;
    const alpha = fakeSpec('alpha');

    // First run: no entry, so discovery probes, the server exits, and the retry as legacy works.
    const first = await startCatalog([alpha]);
    await first.catalog.settled();
    expect(runtime.starts).toBe(2);
    expect(store.loadAll()[0]!.era).toEqual({ kind: 'legacy' });

    // Second run: the stored era skips the probe.
    const { catalog, upstreams } = await startCatalog([alpha]);
    expect(upstreams.get('alpha')!.prior).toEqual({ kind: 'legacy' });
    const outcome = await catalog.callTool('alpha__echo', { text: 'direct' });
    expect(text(outcome.result)).toBe('direct');
    expect(runtime.starts).toBe(3);
  });

  it('connects with a stored modern era without probing again', async () => {
    const alpha = fakeSpec('alpha');
    const first = await startCatalog([alpha]);
    await first.catalog.settled();
    const stored = store.loadAll()[0]!;
    expect(stored.era.kind).toBe('modern');

    const { catalog, upstreams } = await startCatalog([alpha]);
    expect(upstreams.get('alpha')!.prior).toEqual(stored.era);
    const outcome = await catalog.callTool('alpha__echo', { text: 'modern' });
    expect(text(outcome.result)).toBe('modern');
    expect(runtime.starts).toBe(2);
  });
});

/** Registers a prompt, a resource and a resource template on each fake server. */
function withKinds(server: McpServer, process: { spec: ProcessSpec }): void {
  server.registerPrompt(
    'greet',
    { description: 'Greets', argsSchema: z.object({ who: z.string() }) },
    ({ who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `hello ${who} from ${process.spec.id}` } }]
    })
  );
  server.registerPrompt('hidden', { description: 'Filtered out' }, () => ({ messages: [] }));
  server.registerResource('readme', 'test://docs/readme', { description: 'The readme' }, uri => ({
    contents: [{ uri: uri.href, text: `readme of ${process.spec.id}` }]
  }));
  server.registerResource(
    'item',
    new ResourceTemplate('test://items/{id}', { list: undefined }),
    { description: 'An item' },
    (uri, { id }) => ({ contents: [{ uri: uri.href, text: `item ${String(id)}` }] })
  );
}

describe('Catalog kinds', () => {
  it('lists, stores and routes prompts, resources and templates beside tools', async () => {
    runtime.customize = withKinds;
    const alpha = fakeSpec('alpha', { prompts: { deny: ['hidden'] } });
    const beta = fakeSpec('beta', { namespace: '', resources: { allow: ['test://items/*'] } });
    const { catalog } = await startCatalog([alpha, beta]);
    await catalog.settled();
    expect((await catalog.list('prompts', 0)).map(p => [p.name, p.description])).toEqual([
      ['alpha__greet', '[alpha] Greets'],
      ['greet', '[beta] Greets'],
      ['hidden', '[beta] Filtered out']
    ]);
    expect((await catalog.list('resources', 0)).map(r => [r.uri, r.description])).toEqual([
      ['test://alpha+docs/readme', '[alpha] The readme']
    ]);
    expect((await catalog.list('resourceTemplates', 0)).map(t => t.uriTemplate)).toEqual([
      'test://alpha+items/{id}',
      'test://+items/{id}'
    ]);
    expect(catalog.resolvePrompt('alpha__greet')).toEqual({
      serverId: 'alpha',
      namespace: 'alpha',
      name: 'greet'
    });
    expect(catalog.resolvePrompt('greet')).toEqual({ serverId: 'beta', namespace: '', name: 'greet' });
    expect(catalog.resolveResource('test://alpha+items/7')).toEqual({
      serverId: 'alpha',
      namespace: 'alpha',
      name: 'test://items/7'
    });
    expect(catalog.resolveResource('test://items/7')).toMatchObject({
      serverId: 'beta',
      name: 'test://items/7'
    });
    // beta's resources filter hides test://docs/readme and applies to reads too.
    expect(() => catalog.resolveResource('test://docs/readme')).toThrow(
      expect.objectContaining({
        code: 'unknown_resource',
        message: expect.stringContaining('resources filter of server "beta"')
      })
    );
    expect(catalog.offered()).toEqual({
      prompts: true,
      resources: true,
      completions: false,
      subscribe: false
    });

    // One stored entry per server holds every kind, unfiltered.
    const stored = store.loadAll().find(e => e.serverId === 'alpha')!;
    expect(stored.prompts.map(p => p.name).sort()).toEqual(['greet', 'hidden']);
    expect(stored.resources.map(r => r.uri)).toEqual(['test://docs/readme']);
    expect(stored.resourceTemplates.map(t => t.uriTemplate)).toEqual(['test://items/{id}']);
    expect(stored.capabilities).toMatchObject({ prompts: {}, resources: {} });
  });

  it('lists every kind from the stored catalog without starting anything', async () => {
    const alpha = fakeSpec('alpha');
    store.save({
      ...entry(alpha, [tool('echo')]),
      prompts: [{ name: 'greet' }],
      resources: [{ uri: 'ui://panel', name: 'panel' }],
      capabilities: { tools: {}, prompts: {}, resources: {} }
    });
    const { catalog } = await startCatalog([alpha]);
    expect((await catalog.list('prompts', 0)).map(p => p.name)).toEqual(['alpha__greet']);
    expect((await catalog.list('resources', 0)).map(r => r.uri)).toEqual(['ui://alpha+panel']);
    expect(runtime.starts).toBe(0);
  });

  it('settles a resource of servers sharing a namespace by what each listed', async () => {
    runtime.customize = (server, process) => {
      server.registerResource('own', `test://${process.spec.id}-only`, {}, uri => ({
        contents: [{ uri: uri.href, text: process.spec.id }]
      }));
      server.registerResource('both', 'test://both', {}, uri => ({
        contents: [{ uri: uri.href, text: 'x' }]
      }));
      server.registerResource(
        'item',
        new ResourceTemplate(`test://${process.spec.id}/{id}`, { list: undefined }),
        {},
        uri => ({ contents: [{ uri: uri.href, text: 'x' }] })
      );
    };
    const first = fakeSpec('first', { namespace: 'shared' });
    const second = fakeSpec('second', { namespace: 'shared' });
    const { catalog } = await startCatalog([second, first]);
    await catalog.settled();
    expect((await catalog.list('resources', 0)).map(r => r.uri)).toEqual([
      'test://shared+both',
      'test://shared+first-only',
      'test://shared+second-only'
    ]);
    expect(catalog.resolveResource('test://shared+second-only').serverId).toBe('second');
    expect(catalog.resolveResource('test://shared+first-only').serverId).toBe('first');
    expect(catalog.resolveResource('test://shared+both').serverId).toBe('first');
    expect(catalog.resolveResource('test://shared+second/{id}').serverId).toBe('second');
    expect(() => catalog.resolveResource('test://shared+unlisted')).toThrow(/is ambiguous/);
    expect(() => catalog.resolveResource('test://shared+second/7')).toThrow(/is ambiguous/);
  });

  it('answers unknown prompts and undecodable URIs with errors that say what to do', async () => {
    const alpha = fakeSpec('alpha');
    store.save(entry(alpha, [tool('echo')]));
    const { catalog } = await startCatalog([alpha]);
    expect(() => catalog.resolvePrompt('nope')).toThrow(expect.objectContaining({ code: 'unknown_prompt' }));
    expect(() => catalog.resolveResource('file:///etc/passwd')).toThrow(
      expect.objectContaining({ code: 'unknown_resource', detail: { uri: 'file:///etc/passwd' } })
    );
    expect(() => catalog.resolveResource('test://zeta+x')).toThrow(/namespace "zeta", which no server has/);
  });

  it('reports a prompt list change as a prompts change', async () => {
    runtime.customize = server => {
      server.registerPrompt('first', { description: 'There from the start' }, () => ({ messages: [] }));
      server.registerTool('add_prompt', { description: 'Adds a prompt' }, () => {
        server.registerPrompt('added', { description: 'Added at run time' }, () => ({ messages: [] }));
        return { content: [] };
      });
    };
    const alpha = fakeSpec('alpha');
    const { catalog } = await startCatalog([alpha]);
    await catalog.settled();
    const kinds: string[] = [];
    catalog.onChanged(kind => kinds.push(kind));
    await catalog.callTool('alpha__add_prompt', {});
    await vi.waitFor(() => expect(kinds).toContain('prompts'), { timeout: 2_000 });
    expect((await catalog.list('prompts', 0)).map(p => p.name)).toEqual(['alpha__added', 'alpha__first']);
  });
});
