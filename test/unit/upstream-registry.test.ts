import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import type { CapabilityKind } from '../../src/upstream/listing.js';
import { diffSpecs, UpstreamRegistry, type Served } from '../../src/upstream/upstream-registry.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { fakeConnector, FakeRuntime, fakeSpec, silentLog } from '../support/fake-runtime.js';
import { memoryDatabase } from '../support/memory-database.js';

describe('diffSpecs', () => {
  const alpha = fakeSpec('alpha');
  const beta = fakeSpec('beta');
  const gamma = fakeSpec('gamma');

  it('tells added, removed, changed and unchanged servers apart by id', () => {
    const diff = diffSpecs([alpha, beta], [fakeSpec('alpha'), gamma]);
    expect(diff.added.map(spec => spec.id)).toEqual(['gamma']);
    expect(diff.removed).toEqual(['beta']);
    expect(diff.changed).toEqual([]);
    expect(diff.unchanged).toEqual(['alpha']);
  });

  it('counts a changed fingerprint (command, env) as a change', () => {
    const changed = fakeSpec('alpha', { env: { MODE: 'b' } });
    expect(changed.fingerprint).not.toBe(alpha.fingerprint);
    const diff = diffSpecs([alpha], [changed]);
    expect(diff.changed).toEqual([changed]);
    expect(diff.unchanged).toEqual([]);
  });

  it('counts a setting outside the fingerprint (namespace, filter, trust) as a change too', () => {
    for (const overrides of [
      { namespace: 'other' },
      { tools: { deny: ['echo'] } },
      { trust: 'manual' as const },
      { namespace: 'other', callTimeoutMs: 1_000 }
    ]) {
      const changed = fakeSpec('alpha', overrides);
      expect(changed.fingerprint).toBe(alpha.fingerprint);
      expect(diffSpecs([alpha], [changed]).changed.map(spec => spec.id)).toEqual(['alpha']);
    }
  });

  it('counts a change of live settings alone (description, timeouts, limits) as an update in place', () => {
    for (const overrides of [
      { description: 'now described' },
      { callTimeoutMs: 1_000 },
      { idleTimeoutMs: 5_000 },
      { maxConcurrency: 1, maxQueue: 0 }
    ]) {
      const diff = diffSpecs([alpha], [fakeSpec('alpha', overrides)]);
      expect(diff.updated.map(spec => spec.id)).toEqual(['alpha']);
      expect(diff.changed).toEqual([]);
    }
  });

  it('finds no difference in a spec rebuilt equal (a fresh load of the same file)', () => {
    expect(diffSpecs([alpha, beta], [fakeSpec('beta'), fakeSpec('alpha')]).unchanged).toEqual([
      'beta',
      'alpha'
    ]);
  });
});

describe('UpstreamRegistry', () => {
  let runtime: FakeRuntime;
  let db: DatabaseSync;
  let registry: UpstreamRegistry;

  beforeEach(() => {
    runtime = new FakeRuntime();
    db = memoryDatabase();
    registry = registryDraining(5_000);
  });

  /** A registry of fake servers whose removed ones drain for `drainMs`. */
  const registryDraining = (drainMs: number) =>
    new UpstreamRegistry({
      create: spec => ({
        upstream: new Upstream({
          spec,
          connector: fakeConnector(spec as ProcessSpec, runtime),
          identity: { name: 'test-gateway', version: '0.0.0' },
          log: silentLog,
          startTimeoutMs: 5_000
        }),
        perUser: undefined
      }),
      drainMs,
      log: silentLog
    });

  afterEach(async () => {
    await registry.close();
    await runtime.stopAll();
    db.close();
  });

  it('keeps an unchanged upstream (still running), replaces a changed one and closes a removed one after its call', async () => {
    registry.load([fakeSpec('keep'), fakeSpec('change'), fakeSpec('drop')]);
    const keep = registry.get('keep')!;
    const change = registry.get('change')!;
    const drop = registry.get('drop')!;
    await keep.warm();
    const events: string[] = [];
    registry.subscribe({
      onAdded: served => events.push(`added ${served.upstream.id}`),
      onRemoved: served => events.push(`removed ${served.upstream.id}`),
      onReplaced: (before, after) => events.push(`replaced ${before.upstream.id}→${after.upstream.id}`)
    });
    const attached: string[] = [];
    registry.each((served: Served) => attached.push(served.upstream.id));
    const inFlight = drop.callTool('slow', { ms: 300 });

    const diff = registry.apply([
      fakeSpec('keep'),
      fakeSpec('change', { command: ['fake-server', 'change', '--v2'] }),
      fakeSpec('new')
    ]);

    expect(diff).toMatchObject({ unchanged: ['keep'], removed: ['drop'] });
    expect(events).toEqual(['removed drop', 'replaced change→change', 'added new']);
    expect(attached).toEqual(['keep', 'change', 'drop', 'change', 'new']);
    expect(registry.all().map(upstream => upstream.id)).toEqual(['keep', 'change', 'new']);
    expect(registry.get('keep')).toBe(keep);
    expect(keep.state).toBe('ready');
    expect(registry.get('change')).not.toBe(change);
    expect(registry.get('change')!.spec).toMatchObject({ command: ['fake-server', 'change', '--v2'] });
    expect(registry.get('drop')).toBeUndefined();
    // The removed server's call in flight finishes; then it is closed.
    expect(registry.busy).toBe(true);
    const outcome = await inFlight;
    expect(outcome.result.isError).toBeFalsy();
    await registry.drained();
    expect(drop.state).toBe('stopped');
    await expect(drop.callTool('echo', { text: 'x' })).rejects.toThrow();
    expect(registry.busy).toBe(false);
  });

  it('updates a server whose live settings alone changed in place: still running, the new settings applied', async () => {
    registry.load([fakeSpec('tune', { description: 'before' })]);
    const tune = registry.get('tune')!;
    await tune.warm();
    const events: string[] = [];
    registry.subscribe({
      onUpdated: served => events.push(`updated ${served.upstream.id}`),
      onReplaced: before => events.push(`replaced ${before.upstream.id}`)
    });
    const diff = registry.apply([
      fakeSpec('tune', { description: 'after', callTimeoutMs: 300, maxConcurrency: 1, maxQueue: 0 })
    ]);
    expect(diff).toMatchObject({
      changed: [],
      updated: [expect.objectContaining({ id: 'tune' })],
      unchanged: []
    });
    expect(events).toEqual(['updated tune']);
    expect(registry.get('tune')).toBe(tune);
    expect(tune.state).toBe('ready');
    expect(runtime.starts).toBe(1);
    expect(tune.spec).toMatchObject({ description: 'after', callTimeoutMs: 300 });
    // The new callTimeout and slots apply to the next calls.
    const slow = tune.callTool('slow', { ms: 2_000 });
    await expect(tune.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'server_busy' });
    await expect(slow).rejects.toMatchObject({ code: 'call_timeout' });
    expect(runtime.starts).toBe(1);
  });

  it('replaces a server when anything beyond its live settings changes with them', () => {
    registry.load([fakeSpec('tune')]);
    const tune = registry.get('tune')!;
    const diff = registry.apply([fakeSpec('tune', { description: 'after', namespace: 'tuned' })]);
    expect(diff.changed.map(spec => spec.id)).toEqual(['tune']);
    expect(diff.updated).toEqual([]);
    expect(registry.get('tune')).not.toBe(tune);
    expect(() => tune.update(fakeSpec('tune', { namespace: 'other' }))).toThrow(/only its live settings/);
  });

  it('closes a removed server whose call outlives the drain, failing that call', async () => {
    await registry.close();
    registry = registryDraining(200);
    registry.load([fakeSpec('drop')]);
    const inFlight = registry.get('drop')!.callTool('slow', { ms: 30_000 });
    const failed = expect(inFlight).rejects.toMatchObject({ code: 'server_exited' });
    await new Promise(resolve => setTimeout(resolve, 100));
    const started = Date.now();
    registry.apply([]);
    await registry.drained();
    await failed;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(registry.all()).toEqual([]);
  });

  it('cuts a drain short at shutdown: close() does not wait out drainMs', async () => {
    await registry.close();
    registry = registryDraining(30_000);
    registry.load([fakeSpec('drop')]);
    const inFlight = registry.get('drop')!.callTool('slow', { ms: 30_000 });
    const failed = expect(inFlight).rejects.toMatchObject({ code: 'server_exited' });
    await new Promise(resolve => setTimeout(resolve, 100));
    registry.apply([]);
    const started = Date.now();
    await registry.close();
    await failed;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps the catalog following the set: a removed server leaves the lists, an added one is discovered, with list_changed', async () => {
    registry.load([fakeSpec('alpha'), fakeSpec('beta')]);
    const catalog = new Catalog({ upstreams: registry, store: new CatalogStore(db), log: silentLog });
    await catalog.start();
    await catalog.settled();
    const changed: CapabilityKind[] = [];
    catalog.onChanged(kind => changed.push(kind));
    const names = async () => (await catalog.listTools(0)).map(tool => tool.name);
    expect(await names()).toContain('beta__echo');

    registry.apply([fakeSpec('alpha'), fakeSpec('gamma')]);
    expect(await names()).not.toContain('beta__echo');
    expect(changed).toContain('tools');
    await expect(catalog.callTool('beta__echo', { text: 'x' })).rejects.toMatchObject({
      code: 'unknown_tool'
    });

    await expect.poll(names, { timeout: 5_000 }).toContain('gamma__echo');
    expect(await names()).toContain('alpha__echo');
    const outcome = await catalog.callTool('gamma__echo', { text: 'hi' });
    expect(outcome.route.serverId).toBe('gamma');
  });

  it('answers lists at once while a server a reload added is discovered (startup discovery alone holds them)', async () => {
    registry.load([fakeSpec('alpha')]);
    const catalog = new Catalog({ upstreams: registry, store: new CatalogStore(db), log: silentLog });
    await catalog.start();
    await catalog.settled();
    runtime.startDelayMs = 1_500;
    registry.apply([fakeSpec('alpha'), fakeSpec('slow')]);
    // Its discovery has begun (the catalog looks for a stored entry first).
    await expect.poll(() => runtime.startsOf('slow'), { timeout: 5_000 }).toBe(1);
    const asked = Date.now();
    const names = (await catalog.listTools(10_000)).map(tool => tool.name);
    expect(Date.now() - asked).toBeLessThan(1_000);
    expect(catalog.discovering).toBe(false);
    expect(names).toContain('alpha__echo');
    expect(names).not.toContain('slow__echo');
    await expect
      .poll(async () => (await catalog.listTools(0)).map(tool => tool.name), { timeout: 10_000 })
      .toContain('slow__echo');
  });

  it('lists a server again under its new namespace once it is replaced', async () => {
    registry.load([fakeSpec('alpha')]);
    const catalog = new Catalog({ upstreams: registry, store: new CatalogStore(db), log: silentLog });
    await catalog.start();
    await catalog.settled();
    registry.apply([fakeSpec('alpha', { namespace: 'renamed' })]);
    const names = (await catalog.listTools(0)).map(tool => tool.name);
    expect(names).toContain('renamed__echo');
    expect(names).not.toContain('alpha__echo');
  });
});
