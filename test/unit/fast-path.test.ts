import type { DatabaseSync } from 'node:sqlite';
import http from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { inputRequired, type Tool } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { Profiles } from '../../src/catalog/profiles.js';
import type { ProfileConfig } from '../../src/config/schema.js';
import { CallRunner, type CallRecord } from '../../src/sessions/call-runner.js';
import { createGatewayServer } from '../../src/sessions/gateway-server.js';
import { ModernEndpoint } from '../../src/sessions/modern-endpoint.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { FakeRuntime, silentLog } from '../support/fake-runtime.js';
import { serveMcp } from '../support/mcp-test-server.js';
import { memoryDatabase } from '../support/memory-database.js';
import { bothPaths, storedCatalog } from '../support/stored-catalog.js';

/**
 * The 2026-era hot path against the SDK path: the same requests to two endpoints over the same
 * catalog and runner, one with the fast path and one without, must get the same status, content
 * type and body, byte for byte. Requests are generated valid and invalid (versions, headers,
 * envelopes, params, cursors, unknown tools, tool errors, scoped principals, extra `_meta`), to
 * the root `/mcp` and to a profile's `/mcp/<profile>` (shortened names, a deny glob).
 */

const MODERN = '2026-07-28';
const PAGE_SIZE = 4;
const SERVERS = ['alpha', 'beta'];
/** What the catalog has stored for each server (every server runs the fake's tools when started). */
const STORED = ['echo', 'rich', 'fail', 'whoami', 'extra'];

const tool = (name: string): Tool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: { type: 'object', properties: {} },
  ...(name === 'extra' ? { execution: { taskSupport: 'optional' } } : {})
});

let db: DatabaseSync;
let runtime: FakeRuntime;
let upstreams: Upstream[];
let catalog: Catalog;
let runner: CallRunner;
let profiles: Profiles;
const records: CallRecord[] = [];
const identities: unknown[] = [];
let fastServed = 0;
const endpoints: ModernEndpoint[] = [];
const servers: http.Server[] = [];
let fastUrl: URL;
let sdkUrl: URL;

/**
 * The profiles: `short` shortens names past 16 characters (the long tool's) and denies the `fail`
 * tools; `finder` lists search tools instead (left to the SDK path).
 */
const PROFILES: Record<string, ProfileConfig> = {
  short: { servers: SERVERS, tools: { deny: ['*__fail'] }, maxToolNameLength: 16 },
  finder: { servers: ['alpha'], expose: 'search', maxToolNameLength: 64 }
};
/** A tool whose exposed name (`alpha__…`, 27 characters) the `short` profile shortens. */
const LONG_TOOL = 'a_long_tool_name_here';

const serve = (endpoint: ModernEndpoint) =>
  serveMcp(servers, (req, res, body, profile) => endpoint.handle(req, res, body, profile));

beforeAll(async () => {
  db = memoryDatabase();
  runtime = new FakeRuntime();
  // A server that asks its caller (over stdio, a 2025-era elicitation request): refused for a caller
  // that declared no elicitation, which is every caller here (one that did would be parked, and the
  // parked call would change what the next request meets).
  runtime.customize = mcp => {
    mcp.registerTool(LONG_TOOL, { description: 'A tool with a long name' }, () => ({
      content: [{ type: 'text' as const, text: 'long' }]
    }));
    // Blocks of other kinds, and keys out of their schema's order: the SDK shapes such results.
    mcp.registerTool('odd', { description: 'Returns unusual content' }, () => ({
      content: [
        { text: 'b', type: 'text' as const },
        { type: 'image' as const, data: 'aGk=', mimeType: 'image/png' },
        { type: 'text' as const, text: 'c', annotations: { priority: 1 } }
      ],
      isError: false
    }));
    mcp.registerTool('ask', { description: 'Asks the caller a question' }, () =>
      inputRequired({
        inputRequests: {
          q: {
            method: 'elicitation/create',
            params: {
              message: 'Name?',
              requestedSchema: { type: 'object', properties: { name: { type: 'string' } } }
            }
          }
        }
      } as never)
    );
  };
  let specs;
  ({ catalog, upstreams, specs } = await storedCatalog(db, runtime, SERVERS, STORED.map(tool)));
  runner = new CallRunner({ catalog, observe: record => records.push(record), maxResultBytes: 1_000_000 });
  profiles = new Profiles(catalog, PROFILES);
  // Start every server first: a start replaces its stored tools by what it lists (with their
  // schemas), which would otherwise happen between the two paths' answers to one request.
  for (const id of SERVERS) await runner.run(`${id}__echo`, { text: 'warm' });
  for (let i = 0; i < 100 && !SERVERS.every(id => catalog.tool(`${id}__odd`)); i++) {
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  expect(SERVERS.every(id => catalog.tool(`${id}__odd`))).toBe(true);
  const { options, fastPath } = bothPaths({ catalog, runner, profiles, specs, pageSize: PAGE_SIZE });
  const serveFast = fastPath.serve.bind(fastPath);
  fastPath.serve = async (...args) => {
    const served = await serveFast(...args);
    if (served) fastServed++;
    return served;
  };
  const report = (identity: unknown) => identities.push(identity);
  const newServer = (profile: string | undefined) => createGatewayServer(options, profile);
  const withFast = new ModernEndpoint(
    newServer,
    silentLog,
    1_000_000,
    report,
    undefined,
    undefined,
    undefined,
    fastPath
  );
  const withSdk = new ModernEndpoint(newServer, silentLog, 1_000_000, report);
  endpoints.push(withFast, withSdk);
  fastUrl = await serve(withFast);
  sdkUrl = await serve(withSdk);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
  await Promise.all(endpoints.map(endpoint => endpoint.close()));
  await Promise.all((upstreams ?? []).map(upstream => upstream.close()));
  await runtime?.stopAll();
  db?.close();
});

interface Sent {
  headers: Record<string, string>;
  body: string;
}

async function post(
  url: URL,
  sent: Sent
): Promise<{ status: number; type: string | undefined; body: string }> {
  const response = await fetch(url, { method: 'POST', headers: sent.headers, body: sent.body });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? undefined,
    body: await response.text()
  };
}

const envelope = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'prop', version: '1.0.0' }
};

/** The fake's tools the property calls: each answers at once and leaves its server as it was. */
const SAFE = new Set(['echo', 'rich', 'fail', 'whoami', 'ask', 'odd', LONG_TOOL]);
/** Tool names: the catalog's, unknown ones, and `extra` (a profile's own, maybe shortened, names). */
const namesWith = (extra: readonly string[]) =>
  fc.constantFrom(
    ...SERVERS.flatMap(server => [...SAFE].map(name => `${server}__${name}`)),
    'alpha__nope',
    'nope',
    'gamma__echo',
    '',
    ...extra
  );
const args = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  { weight: 4, arbitrary: fc.record({ text: fc.string({ maxLength: 8 }) }) },
  fc.constant({ text: 7 }),
  fc.constant('not an object'),
  fc.constant([1])
);
/** Mostly `usual`, sometimes one of `unusual`: most requests differ from a plain one in one way or none. */
function mostly<T>(usual: T, ...unusual: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 3 * unusual.length, arbitrary: fc.constant(usual) }, fc.constantFrom(...unusual));
}

const metas = fc.oneof(
  { weight: 30, arbitrary: fc.constant<Record<string, unknown> | undefined>(envelope) },
  fc.constant({ ...envelope, 'io.modelcontextprotocol/clientInfo': undefined }),
  fc.constant({
    ...envelope,
    'io.modelcontextprotocol/clientCapabilities': { roots: { listChanged: true }, experimental: {} }
  }),
  fc.constant({ ...envelope, 'io.modelcontextprotocol/clientCapabilities': { roots: 'yes' } }),
  fc.constant({ ...envelope, 'io.modelcontextprotocol/clientInfo': { name: 'prop' } }),
  fc.constant({ ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }),
  fc.constant({ ...envelope, 'io.modelcontextprotocol/protocolVersion': '2025-11-25' }),
  fc.constant({ ...envelope, progressToken: 'p1' }),
  fc.constant({ ...envelope, 'io.modelcontextprotocol/logLevel': 'debug' }),
  fc.constant({ ...envelope, 'example.com/mine': 1 }),
  fc.constant({ 'io.modelcontextprotocol/protocolVersion': MODERN }),
  fc.constant(undefined)
);
/** Cursors: none, the pages' own, and ones the SDK path must judge. */
const cursors = fc.constantFrom(
  undefined,
  undefined,
  Buffer.from(`o:${PAGE_SIZE}`).toString('base64url'),
  Buffer.from(`o:${2 * PAGE_SIZE}`).toString('base64url'),
  Buffer.from('o:3').toString('base64url'),
  Buffer.from('o:99').toString('base64url'),
  'garbage',
  '',
  7
);
const principals = fc.constantFrom<Principal | undefined>(
  undefined,
  undefined,
  { id: 'token:all', kind: 'token', admin: false },
  { id: 'token:alpha', kind: 'token', admin: false, servers: ['alpha'] },
  { id: 'token:echoes', kind: 'token', admin: false, tools: ['*__echo', 'beta__r*'] }
);
const ids = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 1_000 }) },
  fc.constantFrom('req-1', 1.5, null)
);

/** Requests to an endpoint that lists `names` (besides the catalog's and unknown ones). */
const requestsWith = (names: readonly string[]) =>
  fc
    .record({
      method: fc.constantFrom('tools/call', 'tools/call', 'tools/list', 'tools/list', 'prompts/list'),
      id: ids,
      name: namesWith(names),
      args,
      cursor: cursors,
      meta: metas,
      extraParam: mostly(false, true),
      principal: principals,
      versionHeader: mostly<string | undefined>(MODERN, '2025-11-25', undefined),
      methodHeader: mostly('same', 'other', 'none'),
      nameHeader: mostly('same', 'other', 'none'),
      contentType: mostly('application/json', 'text/plain', 'application/json; charset=utf-8')
    })
    .map((r): Sent => {
      const params: Record<string, unknown> =
        r.method === 'tools/call'
          ? { name: r.name, ...(r.args === undefined ? {} : { arguments: r.args }) }
          : r.cursor === undefined
            ? {}
            : { cursor: r.cursor };
      if (r.meta) params._meta = r.meta;
      if (r.extraParam) params.extra = true;
      const headers: Record<string, string> = {
        'content-type': r.contentType,
        accept: 'application/json, text/event-stream'
      };
      if (r.versionHeader) headers['mcp-protocol-version'] = r.versionHeader;
      if (r.methodHeader !== 'none')
        headers['mcp-method'] = r.methodHeader === 'same' ? r.method : 'tools/list';
      if (r.method === 'tools/call' && r.nameHeader !== 'none') {
        headers['mcp-name'] = r.nameHeader === 'same' ? r.name : 'other';
      }
      if (r.principal) headers['x-test-principal'] = JSON.stringify(r.principal);
      return { headers, body: JSON.stringify({ jsonrpc: '2.0', id: r.id, method: r.method, params }) };
    });

/** The URL of `profile`'s endpoint (undefined: the root's) beside `url`. */
const at = (url: URL, profile: string | undefined) => (profile ? new URL(`${url.href}/${profile}`) : url);

describe('the 2026-era fast path', () => {
  it.each([
    ['the root', undefined],
    ['a profile (shortened names, a deny glob)', 'short']
  ])('answers as the SDK path does, byte for byte, on %s', async (_, profile) => {
    // The profile's names of the tools the property calls (not those that crash or hang a server).
    const view = profile ? profiles.get(profile)! : undefined;
    const listed = (view?.listed('tools') ?? [])
      .map(tool => tool.name)
      .filter(name => SAFE.has(view!.toolName(name).split('__')[1]!));
    // The profile does shorten a name (one the root's list does not have) and deny one.
    if (profile) {
      expect(listed.filter(name => !catalog.isListed(name))).toHaveLength(SERVERS.length);
      expect(listed).not.toContain('alpha__fail');
    }
    const before = fastServed;
    await fc.assert(
      fc.asyncProperty(requestsWith(listed), async sent => {
        const sdk = await post(at(sdkUrl, profile), sent);
        const fast = await post(at(fastUrl, profile), sent);
        // A sealed requestState is single use, so each answer carries its own: compared by shape.
        const sealed = (text: string) => text.replace(/"requestState":"[^"]+"/, '"requestState":"…"');
        expect({ ...fast, body: JSON.parse(sealed(fast.body)) as unknown }).toEqual({
          ...sdk,
          body: JSON.parse(sealed(sdk.body)) as unknown
        });
        expect(sealed(fast.body)).toBe(sealed(sdk.body));
      }),
      { numRuns: 600 }
    );
    // The property means something only if the fast path served a good share of them.
    expect(fastServed - before).toBeGreaterThan(40);
  });

  it.each([undefined, 'short'])(
    'serves every page of a list, per scope, as the SDK path does (profile %s)',
    async profile => {
      for (const principal of [
        undefined,
        { id: 'token:alpha', kind: 'token', admin: false, servers: ['alpha'] }
      ]) {
        let cursor: string | undefined;
        let pages = 0;
        do {
          const sent: Sent = {
            headers: {
              'content-type': 'application/json',
              'mcp-protocol-version': MODERN,
              'mcp-method': 'tools/list',
              ...(principal ? { 'x-test-principal': JSON.stringify(principal) } : {})
            },
            body: JSON.stringify({
              jsonrpc: '2.0',
              id: pages,
              method: 'tools/list',
              params: { ...(cursor ? { cursor } : {}), _meta: envelope }
            })
          };
          const before = fastServed;
          const sdk = await post(at(sdkUrl, profile), sent);
          const fast = await post(at(fastUrl, profile), sent);
          expect(fast.body).toBe(sdk.body);
          expect(fastServed).toBe(before + 1);
          cursor = (JSON.parse(fast.body) as { result: { nextCursor?: string } }).result.nextCursor;
          pages++;
        } while (cursor !== undefined);
        expect(pages).toBeGreaterThan(1);
      }
    }
  );

  it('leaves a search profile and a removed one to the SDK path, following reloads', async () => {
    const send = async (profile: string, method: 'tools/list' | 'tools/call') => {
      const sent: Sent = {
        headers: {
          'content-type': 'application/json',
          'mcp-protocol-version': MODERN,
          'mcp-method': method,
          ...(method === 'tools/call' ? { 'mcp-name': 'alpha__echo' } : {})
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: {
            ...(method === 'tools/call' ? { name: 'alpha__echo', arguments: { text: 'hi' } } : {}),
            _meta: envelope
          }
        })
      };
      const before = fastServed;
      const sdk = await post(at(sdkUrl, profile), sent);
      const fast = await post(at(fastUrl, profile), sent);
      expect(fast.body).toBe(sdk.body);
      return { served: fastServed - before, body: JSON.parse(fast.body) as Record<string, unknown> };
    };
    try {
      // `expose: search`: the SDK path lists the search tools.
      const searching = await send('finder', 'tools/list');
      expect(searching).toMatchObject({
        served: 0,
        body: { result: { tools: [{ name: 'search_tools' }, {}] } }
      });
      // A reload makes it list its tools, and changes the other's globs: the fast path follows both.
      profiles.apply({
        finder: { ...PROFILES.finder!, expose: 'all' },
        short: { ...PROFILES.short!, tools: { deny: ['*__echo'] } }
      });
      expect(await send('finder', 'tools/list')).toMatchObject({ served: 1 });
      expect(await send('finder', 'tools/call')).toMatchObject({
        served: 1,
        body: { result: { content: [{ type: 'text', text: 'hi' }] } }
      });
      const short = await send('short', 'tools/list');
      expect(short.served).toBe(1);
      expect(JSON.stringify(short.body)).not.toContain('__echo');
      // Removed: the SDK path's error, on either method.
      profiles.apply({ short: PROFILES.short! });
      for (const method of ['tools/list', 'tools/call'] as const) {
        expect(await send('finder', method)).toMatchObject({
          served: 0,
          body: { error: { message: expect.stringContaining('profile finder is no longer in servers.yaml') } }
        });
      }
    } finally {
      profiles.apply(PROFILES);
    }
  });

  it('leaves a tools/list to the SDK path while startup discovery runs, so that it waits once', async () => {
    const discovering = vi.spyOn(catalog, 'discovering', 'get').mockReturnValue(true);
    try {
      const sent: Sent = {
        headers: {
          'content-type': 'application/json',
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/list'
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } })
      };
      const before = fastServed;
      const fast = await post(fastUrl, sent);
      expect(fast.body).toBe((await post(sdkUrl, sent)).body);
      expect(fastServed).toBe(before);
    } finally {
      discovering.mockRestore();
    }
  });

  it("takes the SDK client's own plain 2026-era calls and lists", async () => {
    const client = new Client({ name: 'sdk', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(fastUrl));
    const before = fastServed;
    const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
    const result = await client.callTool({ name: 'alpha__echo', arguments: { text: 'hi' } });
    await client.close();
    expect(listed.tools.length).toBeGreaterThan(0);
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    // The list and the call at least (the client may list again to learn the tool's output schema).
    expect(fastServed).toBeGreaterThanOrEqual(before + 2);
  });

  it('calls through the same runner: history, identity and scope see a fast call as an SDK one', async () => {
    const sent: Sent = {
      headers: {
        'content-type': 'application/json',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': 'beta__echo',
        'x-test-principal': JSON.stringify({
          id: 'token:alpha',
          kind: 'token',
          admin: false,
          servers: ['alpha']
        })
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'beta__echo', arguments: { text: 'hi' }, _meta: envelope }
      })
    };
    records.length = 0;
    identities.length = 0;
    const sdk = await post(sdkUrl, sent);
    const fast = await post(fastUrl, sent);
    expect(fast.body).toBe(sdk.body);
    expect(JSON.parse(fast.body)).toMatchObject({ error: { data: { reason: 'forbidden' } } });
    const strip = (record: CallRecord) => ({ ...record, startedAt: 0, durationMs: 0 });
    expect(records).toHaveLength(2);
    expect(strip(records[1]!)).toEqual(strip(records[0]!));
    expect(records[0]).toMatchObject({
      outcome: 'protocol_error',
      tool: 'beta__echo',
      clientKey: expect.any(String)
    });
    expect(identities).toHaveLength(2);
    expect(identities[1]).toEqual(identities[0]);
  });
});
