import type { DatabaseSync } from 'node:sqlite';
import type { Prompt, Resource, Tool } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { ProfileView } from '../../src/catalog/profile-view.js';
import { Profiles } from '../../src/catalog/profiles.js';
import { shortenToolName } from '../../src/catalog/tool-names.js';
import type { ProfileConfig } from '../../src/config/schema.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { UpstreamRegistry } from '../../src/upstream/upstream-registry.js';
import { fakeConnector, FakeRuntime, fakeSpec, silentLog } from '../support/fake-runtime.js';
import { memoryDatabase } from '../support/memory-database.js';

const tool = (name: string): Tool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: { type: 'object' }
});
const prompt = (name: string): Prompt => ({ name });
const resource = (uri: string): Resource => ({ uri, name: uri });
const LONG = 'create_a_pull_request_with_reviewers_and_labels';

let db: DatabaseSync;
let runtime: FakeRuntime;
let registry: UpstreamRegistry;

beforeEach(() => {
  db = memoryDatabase();
  runtime = new FakeRuntime();
});

afterEach(async () => {
  await registry.close();
  await runtime.stopAll();
  db.close();
});

/** A catalog of alpha and beta, listed from their stored entries (nothing is started). */
async function catalogOf(specs: ProcessSpec[] = [fakeSpec('alpha'), fakeSpec('beta')]): Promise<Catalog> {
  const store = new CatalogStore(db);
  const lists: Record<string, { tools: Tool[]; prompts: Prompt[]; resources: Resource[] }> = {
    alpha: {
      tools: [tool('echo'), tool('push_force'), tool(LONG)],
      prompts: [prompt('greet')],
      resources: [resource('file:///alpha/readme')]
    },
    beta: { tools: [tool('echo')], prompts: [prompt('greet')], resources: [resource('file:///beta/notes')] }
  };
  for (const spec of specs) {
    store.save({
      serverId: spec.id,
      fingerprint: spec.fingerprint,
      era: { kind: 'legacy' },
      ...lists[spec.id]!,
      resourceTemplates: [],
      capabilities: { tools: {}, prompts: {}, resources: {} },
      discoveredAt: '2026-01-01T00:00:00.000Z'
    });
  }
  registry = new UpstreamRegistry({
    create: spec =>
      ({
        upstream: new Upstream({
          spec,
          connector: fakeConnector(spec as ProcessSpec, runtime),
          identity: { name: 'test-gateway', version: '0.0.0' },
          log: silentLog,
          startTimeoutMs: 5_000
        })
      }) as never,
    drainMs: 0,
    log: silentLog
  });
  registry.load(specs);
  const catalog = new Catalog({ upstreams: registry, store, log: silentLog });
  await catalog.start();
  return catalog;
}

const profile = (overrides: Partial<ProfileConfig> = {}): ProfileConfig => ({
  servers: ['alpha'],
  expose: 'all',
  maxToolNameLength: 64,
  ...overrides
});

const names = (items: readonly { name: string }[]) => items.map(item => item.name);

describe('ProfileView', () => {
  it("lists only its servers' items, filtered by its globs on exposed names", async () => {
    const view = new ProfileView('dev', profile({ tools: { deny: ['alpha__push*'] } }), await catalogOf());
    expect(names(view.listed('tools'))).toEqual([`alpha__${LONG}`, 'alpha__echo']);
    expect(names(view.listed('prompts'))).toEqual(['alpha__greet']);
    expect(view.listed('resources').map(r => r.uri)).toEqual(['file://alpha+/alpha/readme']);
  });

  it('refuses names and URIs outside the profile, naming the profile', async () => {
    const view = new ProfileView('dev', profile({ tools: { deny: ['alpha__push*'] } }), await catalogOf());
    expect(() => view.toolName('beta__echo')).toThrow(
      expect.objectContaining({ code: 'unknown_tool', message: expect.stringContaining('profile dev') })
    );
    expect(() => view.toolName('alpha__push_force')).toThrow(
      expect.objectContaining({ code: 'unknown_tool' })
    );
    expect(() => view.resolvePrompt('beta__greet')).toThrow(
      expect.objectContaining({ code: 'unknown_prompt' })
    );
    expect(() => view.resolveResource('file://beta+/beta/notes')).toThrow(
      expect.objectContaining({ code: 'unknown_resource' })
    );
    expect(view.resolvePrompt('alpha__greet')).toMatchObject({ serverId: 'alpha', name: 'greet' });
    expect(view.toolName('alpha__echo')).toBe('alpha__echo');
  });

  it('shortens names to maxToolNameLength and resolves them back', async () => {
    const view = new ProfileView('dev', profile({ maxToolNameLength: 24 }), await catalogOf());
    const listed = names(view.listed('tools'));
    expect(listed.every(name => name.length <= 24)).toBe(true);
    const short = listed.find(name => name !== 'alpha__echo' && name.startsWith('alpha__cr'))!;
    expect(short).toMatch(/^alpha__create_a_[0-9a-f]{8}$/);
    expect(view.toolName(short)).toBe(`alpha__${LONG}`);
    // The catalog's long name is not a name of this profile: only the listed one is.
    expect(() => view.toolName(`alpha__${LONG}`)).toThrow(expect.objectContaining({ code: 'unknown_tool' }));
  });

  it('tells whether a catalog change touches it', async () => {
    const catalog = await catalogOf();
    const profiles = new Profiles(catalog, { dev: profile(), other: profile({ servers: ['beta'] }) });
    // beta leaves the config: only the profile with beta sees a change.
    registry.apply([fakeSpec('alpha')]);
    expect(profiles.touched('tools')).toEqual(['other']);
    expect(profiles.touched('tools')).toEqual([]);
  });

  it('follows a reload: changed, added and removed profiles are named', async () => {
    const profiles = new Profiles(await catalogOf(), { dev: profile(), gone: profile() });
    expect(profiles.apply({ dev: profile({ maxToolNameLength: 20 }), fresh: profile() })).toEqual([
      'dev',
      'fresh',
      'gone'
    ]);
    expect(profiles.names()).toEqual(['dev', 'fresh']);
    expect(names(profiles.get('dev')!.listed('tools')).every(name => name.length <= 20)).toBe(true);
  });
});

describe('shortenToolName', () => {
  it('is reversible through a map and never longer than max (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 16, max: 64 }),
        (catalogNames, max) => {
          const shortened = catalogNames.map(name => shortenToolName(name, max));
          expect(shortened.every(name => name.length <= max)).toBe(true);
          // Distinct names stay distinct: the reverse map loses none.
          expect(new Set(shortened).size).toBe(catalogNames.length);
          // Stable: the same name always shortens the same way; a name that fits is kept.
          catalogNames.forEach((name, index) => {
            expect(shortenToolName(name, max)).toBe(shortened[index]);
            if (name.length <= max) expect(shortened[index]).toBe(name);
          });
        }
      )
    );
  });

  it('resolves every listed name of a view back to its catalog name (property)', async () => {
    const catalog = await catalogOf();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 16, max: 64 }), async max => {
        const view = new ProfileView(
          'p',
          profile({ servers: ['alpha', 'beta'], maxToolNameLength: max }),
          catalog
        );
        const listed = names(await view.list('tools', 0));
        expect(listed.every(name => name.length <= max)).toBe(true);
        expect(listed.map(name => view.toolName(name)).sort()).toEqual(
          names(await catalog.listTools(0))
            .slice()
            .sort()
        );
      })
    );
  });
});
