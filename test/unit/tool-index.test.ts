import type { Tool } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildToolIndex, type IndexSource } from '../../src/catalog/tool-index.js';
import { isValidToolName } from '../../src/catalog/tool-names.js';

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({
  name,
  inputSchema: { type: 'object' },
  ...extra
});

const source = (serverId: string, namespace: string, names: readonly string[]): IndexSource => ({
  serverId,
  namespace,
  tools: names.map(name => tool(name, { description: `${name} does things` }))
});

/** Every permutation of a short list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map(rest => [item, ...rest])
  );
}

describe('buildToolIndex', () => {
  it('gives an empty index for no sources', () => {
    const index = buildToolIndex([]);
    expect(index.tools).toEqual([]);
    expect(index.routes.size).toBe(0);
    expect(index.collisions).toEqual([]);
  });

  it('namespaces tool names and prefixes descriptions with the server id', () => {
    const index = buildToolIndex([source('time', 'time', ['get_time'])]);
    expect(index.tools).toEqual([
      { name: 'time__get_time', description: '[time] get_time does things', inputSchema: { type: 'object' } }
    ]);
  });

  it('uses the bare tool name for namespace "" but still prefixes the description', () => {
    const index = buildToolIndex([source('clock', '', ['now'])]);
    expect(index.tools.map(t => [t.name, t.description])).toEqual([['now', '[clock] now does things']]);
  });

  it('uses the namespace, not the server id, in the name', () => {
    const index = buildToolIndex([source('time-server', 't', ['now'])]);
    expect(index.tools[0]).toMatchObject({ name: 't__now', description: '[time-server] now does things' });
  });

  it('gives a tool without a description just the prefix', () => {
    const index = buildToolIndex([{ serverId: 's', namespace: 's', tools: [tool('x')] }]);
    expect(index.tools[0]?.description).toBe('[s]');
  });

  it('passes every other field through untouched', () => {
    const original: Tool = {
      name: 'fetch',
      title: 'Fetch a page',
      description: 'Fetches',
      inputSchema: {
        type: 'object',
        properties: { url: { type: 'string', format: 'uri' } },
        required: ['url']
      },
      outputSchema: { type: 'object', properties: { body: { type: 'string' } } },
      annotations: { readOnlyHint: true, openWorldHint: true, title: 'Fetcher' },
      icons: [{ src: 'https://example.com/icon.png', mimeType: 'image/png', sizes: ['48x48'] }],
      _meta: { 'example.com/owner': 'team-a', nested: { deep: [1, 2, 3] } }
    };
    const snapshot = structuredClone(original);
    const index = buildToolIndex([{ serverId: 'web', namespace: 'web', tools: [original] }]);
    const exposed = index.tools[0]!;

    expect(exposed).toEqual({ ...snapshot, name: 'web__fetch', description: '[web] Fetches' });
    expect(exposed.title).toBe(snapshot.title);
    expect(exposed.inputSchema).toEqual(snapshot.inputSchema);
    expect(exposed.outputSchema).toEqual(snapshot.outputSchema);
    expect(exposed.annotations).toEqual(snapshot.annotations);
    expect(exposed.icons).toEqual(snapshot.icons);
    expect(exposed._meta).toEqual(snapshot._meta);
    // The input is not modified.
    expect(original).toEqual(snapshot);
  });

  it('orders tools by server id, then tool name', () => {
    const index = buildToolIndex([
      source('zeta', 'zeta', ['b', 'a']),
      source('alpha', 'alpha', ['z', 'm', 'a']),
      source('mid', '', ['c'])
    ]);
    expect(index.tools.map(t => t.name)).toEqual([
      'alpha__a',
      'alpha__m',
      'alpha__z',
      'c',
      'zeta__a',
      'zeta__b'
    ]);
  });

  it('routes every exposed name back to its server and original tool name', () => {
    const sources = [
      source('time', 'time', ['get_time', 'a__b']),
      source('files', 'fs', ['read.file', 'x'.repeat(80)]),
      source('bare', '', ['hello', '名前'])
    ];
    const index = buildToolIndex(sources);
    expect(index.routes.size).toBe(6);
    expect(index.tools.map(t => t.name).sort()).toEqual([...index.routes.keys()].sort());
    expect(index.routes.get('time__get_time')).toEqual({ serverId: 'time', tool: 'get_time' });
    expect(index.routes.get('time__a__b')).toEqual({ serverId: 'time', tool: 'a__b' });
    expect(index.routes.get('hello')).toEqual({ serverId: 'bare', tool: 'hello' });
    const routed = [...index.routes.values()].map(r => `${r.serverId}/${r.tool}`).sort();
    expect(routed).toEqual(sources.flatMap(s => s.tools.map(t => `${s.serverId}/${t.name}`)).sort());
    for (const name of index.routes.keys()) expect(isValidToolName(name)).toBe(true);
  });

  describe('collisions', () => {
    it('between two servers with the same namespace: the first server id keeps the name', () => {
      const index = buildToolIndex([
        source('b-server', 'shared', ['x']),
        source('a-server', 'shared', ['x'])
      ]);
      const names = index.tools.map(t => t.name);
      expect(names[0]).toBe('shared__x');
      expect(names[1]).not.toBe('shared__x');
      expect(isValidToolName(names[1]!)).toBe(true);
      expect(index.routes.get('shared__x')).toEqual({ serverId: 'a-server', tool: 'x' });
      expect(index.routes.get(names[1]!)).toEqual({ serverId: 'b-server', tool: 'x' });
      expect(index.collisions).toEqual([
        {
          name: 'shared__x',
          kept: { serverId: 'a-server', tool: 'x' },
          renamed: { serverId: 'b-server', tool: 'x', as: names[1] }
        }
      ]);
    });

    it('between a namespaced tool and an unprefixed server whose tool is literally ns__x', () => {
      const namespaced = source('b', 'ns', ['x']);
      const unprefixed = source('a', '', ['ns__x']);
      const index = buildToolIndex([namespaced, unprefixed]);

      expect(index.routes.get('ns__x')).toEqual({ serverId: 'a', tool: 'ns__x' });
      expect(index.collisions).toHaveLength(1);
      const collision = index.collisions[0]!;
      expect(collision).toMatchObject({
        name: 'ns__x',
        kept: { serverId: 'a', tool: 'ns__x' },
        renamed: { serverId: 'b', tool: 'x' }
      });
      expect(collision.renamed.as).not.toBe('ns__x');
      expect(isValidToolName(collision.renamed.as)).toBe(true);
      expect(index.routes.get(collision.renamed.as)).toEqual({ serverId: 'b', tool: 'x' });
      expect(index.tools.find(t => t.name === collision.renamed.as)?.description).toBe('[b] x does things');
    });

    it('lets the namespaced server keep the name when its id comes first', () => {
      const index = buildToolIndex([source('z-bare', '', ['ns__x']), source('a', 'ns', ['x'])]);
      expect(index.routes.get('ns__x')).toEqual({ serverId: 'a', tool: 'x' });
      expect(index.collisions).toMatchObject([
        { name: 'ns__x', kept: { serverId: 'a', tool: 'x' }, renamed: { serverId: 'z-bare', tool: 'ns__x' } }
      ]);
    });

    it('gives three claimants of one name three different names', () => {
      const index = buildToolIndex([
        source('c', 'ns', ['x']),
        source('b', 'ns', ['x']),
        source('a', '', ['ns__x'])
      ]);
      const names = index.tools.map(t => t.name);
      expect(new Set(names).size).toBe(3);
      expect(index.routes.size).toBe(3);
      expect(index.routes.get('ns__x')).toEqual({ serverId: 'a', tool: 'ns__x' });
      expect(index.collisions.map(c => [c.kept.serverId, c.renamed.serverId])).toEqual([
        ['a', 'b'],
        ['a', 'c']
      ]);
      for (const name of names) expect(isValidToolName(name)).toBe(true);
    });

    it('handles collisions between rewritten names of long tools', () => {
      const long = 'y'.repeat(100);
      const index = buildToolIndex([source('one', 'ns', [long]), source('two', 'ns', [long])]);
      const [first, second] = index.tools.map(t => t.name);
      expect(first).not.toBe(second);
      expect(index.routes.get(first!)).toEqual({ serverId: 'one', tool: long });
      expect(index.routes.get(second!)).toEqual({ serverId: 'two', tool: long });
      expect(index.collisions).toHaveLength(1);
    });

    it('gives the same result, collisions included, for every input order', () => {
      const sources = [
        source('b', 'ns', ['x', 'y']),
        source('a', '', ['ns__x', 'other']),
        source('c', 'ns', ['x', 'z.z']),
        { ...source('d', 'ns', ['y']), tools: [tool('y'), tool('w', { title: 'W' })].reverse() }
      ];
      const expected = buildToolIndex(sources);
      expect(expected.collisions.length).toBeGreaterThanOrEqual(3);
      for (const order of permutations(sources)) {
        const shuffled = order.map(s => ({ ...s, tools: [...s.tools].reverse() }));
        const index = buildToolIndex(shuffled);
        expect(index.tools).toEqual(expected.tools);
        expect([...index.routes]).toEqual([...expected.routes]);
        expect(index.collisions).toEqual(expected.collisions);
      }
    });
  });

  it('routes are a bijection onto the input tools for arbitrary catalogs', () => {
    const serverArb = fc.record({
      serverId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,5}$/),
      namespace: fc.constantFrom('', 'ns', 'a', 'b'),
      tools: fc.uniqueArray(
        fc.oneof(fc.constantFrom('x', 'ns__x', 'a__x', 'y', 'x.y', 'x_y'), fc.string({ maxLength: 70 })),
        { maxLength: 6 }
      )
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(serverArb, { selector: s => s.serverId, maxLength: 5 }),
        fc.nat(),
        (servers, seed) => {
          const sources = servers.map(s => ({ ...s, tools: s.tools.map(name => tool(name)) }));
          const index = buildToolIndex(sources);
          const total = sources.reduce((sum, s) => sum + s.tools.length, 0);
          expect(index.tools).toHaveLength(total);
          expect(index.routes.size).toBe(total);
          for (const exposed of index.tools) {
            expect(isValidToolName(exposed.name)).toBe(true);
            const route = index.routes.get(exposed.name)!;
            expect(
              sources.find(s => s.serverId === route.serverId)?.tools.some(t => t.name === route.tool)
            ).toBe(true);
          }
          const rotated = sources.map((_, i) => sources[(i + seed) % sources.length]!).reverse();
          expect(buildToolIndex(rotated)).toEqual(index);
        }
      ),
      { numRuns: 300 }
    );
  });
});
