import type { DatabaseSync } from 'node:sqlite';
import http from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { McpServer, Tool } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { Profiles } from '../../src/catalog/profiles.js';
import type { ProfileConfig } from '../../src/config/schema.js';
import { CallRunner } from '../../src/sessions/call-runner.js';
import { createGatewayServer, encodeCursor } from '../../src/sessions/gateway-server.js';
import { LegacySessions } from '../../src/sessions/legacy-sessions.js';
import { SessionToolList } from '../../src/sessions/session-tool-list.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { FakeRuntime, silentLog } from '../support/fake-runtime.js';
import { serveMcp } from '../support/mcp-test-server.js';
import { memoryDatabase } from '../support/memory-database.js';
import { bothPaths, storedCatalog } from '../support/stored-catalog.js';

/**
 * A 2025-era session's `tools/list` answered from the kept pages, against its SDK transport: two
 * sets of sessions over the same catalog and runner, one with the pages and one without, get the
 * same status, headers and SSE stream for the same request (event ids aside, which are each
 * stream's own), byte for byte. Requests are generated valid and invalid (headers, ids, params,
 * cursors, `_meta`, other methods), by principals of every scope, to the root and to a profile.
 */

const PAGE_SIZE = 4;
const SERVERS = ['alpha', 'beta'];
const STORED = ['echo', 'rich', 'fail', 'whoami', 'extra'];
const LATEST = '2025-11-25';

const tool = (name: string): Tool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: { type: 'object', properties: {} },
  ...(name === 'extra' ? { execution: { taskSupport: 'optional' } } : {})
});

const PROFILES: Record<string, ProfileConfig> = {
  short: { servers: SERVERS, tools: { deny: ['*__fail'] }, maxToolNameLength: 16 },
  finder: { servers: ['alpha'], expose: 'search', maxToolNameLength: 64 }
};

const PRINCIPALS: readonly (Principal | undefined)[] = [
  undefined,
  { id: 'token:all', kind: 'token', admin: false },
  { id: 'token:alpha', kind: 'token', admin: false, servers: ['alpha'] },
  { id: 'token:echoes', kind: 'token', admin: false, tools: ['*__echo', 'beta__r*'] }
];
const PLACES = [undefined, 'short', 'finder'] as const;

let db: DatabaseSync;
let runtime: FakeRuntime;
let upstreams: Upstream[];
let catalog: Catalog;
let profiles: Profiles;
/** The McpServer of each started fake server, to change its tools. */
const started: McpServer[] = [];
let fastServed = 0;
const all: LegacySessions[] = [];
const servers: http.Server[] = [];
let fastUrl: URL;
let sdkUrl: URL;

const serve = (sessions: LegacySessions) =>
  serveMcp(servers, (req, res, body, profile) => sessions.handle(req, res, body, profile));

beforeAll(async () => {
  db = memoryDatabase();
  runtime = new FakeRuntime();
  runtime.customize = mcp => {
    started.push(mcp);
  };
  let specs;
  ({ catalog, upstreams, specs } = await storedCatalog(db, runtime, SERVERS, STORED.map(tool)));
  const runner = new CallRunner({ catalog, observe: () => undefined, maxResultBytes: 1_000_000 });
  profiles = new Profiles(catalog, PROFILES);
  const { options, fastPath } = bothPaths({ catalog, runner, profiles, specs, pageSize: PAGE_SIZE });
  const toolList = new SessionToolList(fastPath);
  const serveList = toolList.serve.bind(toolList);
  toolList.serve = async (...args) => {
    const served = await serveList(...args);
    if (served) fastServed++;
    return served;
  };
  const newServer = (profile: string | undefined) => createGatewayServer(options, profile);
  const tracker = {
    sessionOpened: () => undefined,
    sessionSeen: () => undefined,
    sessionClosed: () => undefined
  };
  const limits = { tracker, timeoutMs: 600_000, maxSessions: 100, sessionsPerPrincipal: 100 };
  const withPages = new LegacySessions(newServer, silentLog, { ...limits, toolList });
  const withSdk = new LegacySessions(newServer, silentLog, limits);
  all.push(withPages, withSdk);
  fastUrl = await serve(withPages);
  sdkUrl = await serve(withSdk);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
  await Promise.all(all.map(sessions => sessions.closeAll()));
  await Promise.all((upstreams ?? []).map(upstream => upstream.close()));
  await runtime?.stopAll();
  db?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

/** The URL of `profile`'s endpoint (undefined: the root's) beside `url`. */
const at = (url: URL, profile: string | undefined) => (profile ? new URL(`${url.href}/${profile}`) : url);

async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string
): Promise<Answer> {
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const named = ['content-type', 'cache-control', 'connection', 'x-accel-buffering', 'mcp-session-id'];
  return {
    status: response.status,
    headers: Object.fromEntries(named.map(name => [name, response.headers.get(name)])),
    body: await response.text()
  };
}

/** A session opened on `url` by `principal`, at `version`; its id and the headers of its requests. */
async function open(url: URL, principal: Principal | undefined, version = LATEST) {
  const base: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(principal ? { 'x-test-principal': JSON.stringify(principal) } : {})
  };
  const init = await send(
    url,
    'POST',
    base,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'prop', version: '1.0.0' } }
    })
  );
  const id = init.headers['mcp-session-id'];
  expect(init.status).toBe(200);
  const headers = { ...base, 'mcp-session-id': id!, 'mcp-protocol-version': version };
  const ack = await send(
    url,
    'POST',
    headers,
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  );
  expect(ack.status).toBe(202);
  return { id: id!, headers };
}

/** An answer with each side's own parts (event ids, the session id) named alike. */
function comparable(answer: Answer, sessionId: string): Answer {
  const headers = { ...answer.headers };
  if (headers['mcp-session-id'] === sessionId) headers['mcp-session-id'] = 'this session';
  return { ...answer, headers, body: answer.body.replace(/^id: .*$/gm, 'id: …') };
}

/** Sessions on both sides, one per principal and place, opened once. */
const sessions = new Map<
  string,
  {
    fast: { id: string; headers: Record<string, string> };
    sdk: { id: string; headers: Record<string, string> };
  }
>();
async function sessionsOf(principal: number, place: string | undefined) {
  const key = `${principal}/${place}`;
  let pair = sessions.get(key);
  if (!pair) {
    pair = {
      fast: await open(at(fastUrl, place), PRINCIPALS[principal]),
      sdk: await open(at(sdkUrl, place), PRINCIPALS[principal])
    };
    sessions.set(key, pair);
  }
  return pair;
}

/** Sends the same request on both sides' sessions; the two answers, comparable. */
async function both(
  principal: number,
  place: string | undefined,
  body: unknown,
  change: (headers: Record<string, string>) => Record<string, string> = headers => headers
) {
  const pair = await sessionsOf(principal, place);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const fast = await send(at(fastUrl, place), 'POST', change(pair.fast.headers), text);
  const sdk = await send(at(sdkUrl, place), 'POST', change(pair.sdk.headers), text);
  return { fast: comparable(fast, pair.fast.id), sdk: comparable(sdk, pair.sdk.id), raw: fast };
}

/** Cursors: none (mostly), the pages' own, and ones the SDK path must judge. */
const cursors = fc.oneof(
  { weight: 3, arbitrary: fc.constant<unknown>(undefined) },
  fc.constantFrom<unknown>(
    encodeCursor(PAGE_SIZE),
    encodeCursor(2 * PAGE_SIZE),
    encodeCursor(3),
    encodeCursor(99),
    'garbage',
    '',
    7
  )
);
const metas = fc.constantFrom<unknown>(
  undefined,
  undefined,
  {},
  { progressToken: 'p1' },
  { 'example.com/mine': 1 },
  { 'io.modelcontextprotocol/related-task': { taskId: 't' } },
  { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
  'not an object'
);
/** Mostly `usual`, one time in seven one of `unusual`. */
function mostly<T>(usual: T, ...unusual: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, fc.constantFrom(...unusual));
}

const requests = fc.record({
  principal: fc.integer({ min: 0, max: PRINCIPALS.length - 1 }),
  method: mostly('tools/list', 'prompts/list', 'ping'),
  id: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 1_000 }) },
    fc.constantFrom<unknown>('req-1', 1.5, null)
  ),
  params: mostly<'cursor' | 'none' | 'null' | 'extra'>('cursor', 'none', 'null', 'extra'),
  cursor: cursors,
  meta: metas,
  extraKey: mostly(false, true),
  // Every revision alike: the stream is primed, or not, by the header's.
  version: fc.constantFrom<string | undefined>(
    LATEST,
    '2025-11-25',
    undefined,
    '2025-06-18',
    '2024-11-05',
    '2026-07-28',
    '1999-01-01'
  ),
  accept: mostly('application/json, text/event-stream', 'application/json', 'text/event-stream'),
  contentType: mostly('application/json', 'text/plain', 'application/json; charset=utf-8'),
  batch: mostly(false, true)
});

describe("a 2025-era session's tools/list from the kept pages", () => {
  it.each(PLACES)('answers as the SDK transport does, stream and headers alike (profile %s)', async place => {
    const before = fastServed;
    await fc.assert(
      fc.asyncProperty(requests, async r => {
        const params: Record<string, unknown> = {};
        if (r.cursor !== undefined) params.cursor = r.cursor;
        if (r.meta !== undefined) params._meta = r.meta;
        if (r.params === 'extra') params.extra = true;
        const message: Record<string, unknown> = { jsonrpc: '2.0', id: r.id, method: r.method };
        if (r.params === 'null') message.params = null;
        else if (r.params !== 'none') message.params = params;
        if (r.extraKey) message.extra = 1;
        const { fast, sdk } = await both(r.principal, place, r.batch ? [message] : message, headers => {
          const changed: Record<string, string> = {
            ...headers,
            accept: r.accept,
            'content-type': r.contentType
          };
          if (r.version === undefined) delete changed['mcp-protocol-version'];
          else changed['mcp-protocol-version'] = r.version;
          return changed;
        });
        expect(fast).toEqual(sdk);
      }),
      { numRuns: 500 }
    );
    // The property means something only if the pages served a good share of them (none on a search profile).
    if (place === 'finder') expect(fastServed).toBe(before);
    else expect(fastServed - before).toBeGreaterThan(20);
  });

  it('serves every page of a list, per scope, as the SDK transport does', async () => {
    // The root's whole list, a scope's (5 tools), a profile's (8 tools, the `fail` ones denied).
    for (const [place, principal] of [
      [undefined, 0],
      [undefined, 2],
      ['short', 0]
    ] as const) {
      {
        let cursor: string | undefined;
        let pages = 0;
        do {
          const before = fastServed;
          const { fast, sdk, raw } = await both(principal, place, {
            jsonrpc: '2.0',
            id: pages,
            method: 'tools/list',
            params: cursor ? { cursor } : {}
          });
          expect(fast).toEqual(sdk);
          expect(fastServed).toBe(before + 1);
          const data = /^data: (\{.+)$/m.exec(raw.body)![1]!;
          cursor = (JSON.parse(data) as { result: { nextCursor?: string } }).result.nextCursor;
          pages++;
        } while (cursor !== undefined);
        expect(pages).toBeGreaterThan(1);
      }
    }
  });

  it("takes the SDK client's own tools/list on a session", async () => {
    const client = new Client({ name: 'sdk', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(fastUrl));
    const before = fastServed;
    // The client follows the cursors itself: every page is one request.
    const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
    await client.close();
    expect(listed.tools).toHaveLength(SERVERS.length * STORED.length);
    expect(fastServed).toBe(before + Math.ceil(listed.tools.length / PAGE_SIZE));
  });

  it('holds its answer for Last-Event-ID replay, as the SDK transport does', async () => {
    const pair = await sessionsOf(0, undefined);
    const replays: Answer[] = [];
    for (const [url, session] of [
      [fastUrl, pair.fast],
      [sdkUrl, pair.sdk]
    ] as const) {
      const listed = await send(
        url,
        'POST',
        session.headers,
        JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' })
      );
      // The priming event: the stream a client resumes from, having missed the answer.
      const priming = /^id: (.+)$/m.exec(listed.body)![1]!;
      const replay = await send(url, 'GET', {
        ...session.headers,
        accept: 'text/event-stream',
        'last-event-id': priming
      });
      replays.push(comparable(replay, session.id));
    }
    expect(replays[0]).toEqual(replays[1]);
    expect(replays[0]!.body).toMatch(/^event: message\nid: …\ndata: \{"result":\{"tools":\[/);
  });

  it('leaves a list to the SDK path while startup discovery runs: the stream is primed at once', async () => {
    // The SDK transport sends its priming event before the list waits for discovery, so a client cut
    // off during the wait can resume; the pages, which would wait first, must not take the request.
    const pair = await sessionsOf(0, undefined);
    let release = () => {};
    const gate = new Promise<void>(resolve => (release = resolve));
    const listTools = catalog.listTools.bind(catalog);
    const waits = vi.spyOn(catalog, 'listTools').mockImplementation(async waitMs => {
      await gate;
      return listTools(waitMs);
    });
    const discovering = vi.spyOn(catalog, 'discovering', 'get').mockReturnValue(true);
    try {
      const before = fastServed;
      const response = await fetch(fastUrl, {
        method: 'POST',
        headers: pair.fast.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' })
      });
      // The headers and the priming event came while the list still waits.
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const primed = new TextDecoder().decode((await reader.read()).value);
      expect(primed).toMatch(/^id: \S+\nretry: \d+\ndata: \n\n$/);
      release();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toMatch(/^event: message\nid: \S+\ndata: \{"result":\{"tools":\[/);
      expect(fastServed).toBe(before);
    } finally {
      release();
      waits.mockRestore();
      discovering.mockRestore();
    }
  });

  it('answers as the transport does for a session closed while its list was read', async () => {
    const session = await open(fastUrl, undefined);
    let release = () => {};
    const gate = new Promise<void>(resolve => (release = resolve));
    const listTools = catalog.listTools.bind(catalog);
    let waiting = false;
    const waits = vi.spyOn(catalog, 'listTools').mockImplementation(async waitMs => {
      waiting = true;
      await gate;
      return listTools(waitMs);
    });
    try {
      const listing = send(
        fastUrl,
        'POST',
        session.headers,
        JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })
      );
      await expect.poll(() => waiting).toBe(true);
      expect((await send(fastUrl, 'DELETE', session.headers)).status).toBe(200);
      release();
      const answer = await listing;
      expect(answer.status).toBe(404);
      expect(answer.body).toContain('Session not found');
    } finally {
      release();
      waits.mockRestore();
    }
  });

  it('leaves a request with two Content-Type headers to the transport, which refuses it', async () => {
    const pair = await sessionsOf(0, undefined);
    const statusOn = (url: URL, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const raw = Object.entries(headers).flatMap(([name, value]) =>
          name === 'content-type' ? [name, value, name, value] : [name, value]
        );
        // Raw headers: Node's client sends them as given, and no Host of its own.
        const request = http.request(
          url,
          { method: 'POST', headers: ['host', url.host, ...raw] },
          response => {
            response.resume();
            resolve(response.statusCode!);
          }
        );
        request.on('error', reject);
        request.end(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }));
      });
    const before = fastServed;
    const fast = await statusOn(fastUrl, pair.fast.headers);
    expect(fast).toBe(await statusOn(sdkUrl, pair.sdk.headers));
    expect(fast).toBe(415);
    expect(fastServed).toBe(before);
  });

  it('lists a changed catalog at once: no page outlives a tools/list_changed', async () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const first = await both(0, undefined, list);
    expect(first.fast).toEqual(first.sdk);
    const servedBefore = fastServed;
    // Start the servers, so that they can change their tools.
    const client = new Client({ name: 'warm', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(sdkUrl));
    for (const id of SERVERS) await client.callTool({ name: `${id}__echo`, arguments: { text: 'warm' } });
    await client.close();
    for (let i = 0; i < 100 && started.length < SERVERS.length; i++)
      await new Promise(r => setTimeout(r, 20));
    const warm = await both(0, 'short', { ...list, params: { cursor: encodeCursor(PAGE_SIZE) } });
    expect(warm.fast).toEqual(warm.sdk);
    started[0]!.registerTool('added', { description: 'Added after the start' }, () => ({ content: [] }));
    const name = SERVERS.map(id => `${id}__added`);
    for (let i = 0; i < 100 && !name.some(n => catalog.tool(n)); i++)
      await new Promise(r => setTimeout(r, 20));
    expect(name.some(n => catalog.tool(n))).toBe(true);
    for (const place of [undefined, 'short']) {
      let cursor: string | undefined;
      let text = '';
      do {
        const { fast, sdk, raw } = await both(0, place, { ...list, params: cursor ? { cursor } : {} });
        expect(fast).toEqual(sdk);
        const data = JSON.parse(/^data: (\{.+)$/m.exec(raw.body)![1]!) as { result: { nextCursor?: string } };
        text += raw.body;
        cursor = data.result.nextCursor;
      } while (cursor !== undefined);
      expect(text).toContain('__added"');
    }
    expect(fastServed).toBeGreaterThan(servedBefore);
  });
});
