import { DatabaseSync } from 'node:sqlite';
import {
  Client,
  InMemoryTransport,
  ProtocolError,
  ProtocolErrorCode,
  type Progress,
  type Tool
} from '@modelcontextprotocol/client';
import type { Server } from '@modelcontextprotocol/server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import type { Logger } from '../../src/log.js';
import { CallRunner, logCall } from '../../src/sessions/call-runner.js';
import { createGatewayServer, describeServers } from '../../src/sessions/gateway-server.js';
import { Upstream } from '../../src/upstream/upstream.js';
import {
  FAKE_TOOLS,
  FakeRuntime,
  fakeSpec,
  RICH_RESULT,
  silentLog,
  fakeUpstream
} from '../support/fake-runtime.js';
import { memoryDatabase } from '../support/memory-database.js';

const tool = (name: string): Tool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: { type: 'object', properties: {} }
});

const PAGE_SIZE = 7;

/**
 * Four servers whose stored tools add up to 25: alpha has the fake's tools plus `progress`, beta
 * the fake's tools plus three more, gamma five tools of its own, delta (unavailable) two.
 */
const SPECS: ProcessSpec[] = [
  fakeSpec('alpha', { description: 'Alpha tools' }),
  fakeSpec('beta', { description: 'Beta tools' }),
  fakeSpec('gamma'),
  fakeSpec('delta', { description: 'Needs a token', unavailable: 'environment variable TOKEN not set' })
];
const STORED: Record<string, string[]> = {
  alpha: [...FAKE_TOOLS, 'progress'],
  beta: [...FAKE_TOOLS, 'extra-1', 'extra-2', 'extra-3'],
  gamma: ['g1', 'g2', 'g3', 'g4', 'g5'],
  delta: ['echo', 'whoami']
};
const TOTAL_TOOLS = 25;

/** The exposed names, in catalog order (server id, then tool name). */
const EXPOSED = Object.keys(STORED)
  .sort()
  .flatMap(id => [...STORED[id]!].sort().map(name => `${id}__${name}`));

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

let db: DatabaseSync;
let runtime: FakeRuntime;
let upstreams: Upstream[];
let catalog: Catalog;
let server: Server;
let client: Client;
let runner: CallRunner;
let logLines: LogLine[];

async function connect(options: { pageSize?: number; specs?: ProcessSpec[] } = {}): Promise<void> {
  const specs = options.specs ?? SPECS;
  const store = new CatalogStore(db);
  for (const spec of specs) {
    store.save({
      serverId: spec.id,
      fingerprint: spec.fingerprint,
      era: { kind: 'legacy' },
      tools: (STORED[spec.id] ?? []).map(tool),
      prompts: [],
      resources: [],
      resourceTemplates: [],
      discoveredAt: '2026-01-01T00:00:00.000Z'
    });
  }
  upstreams = specs.map(spec => fakeUpstream(spec, runtime));
  catalog = new Catalog({ upstreams, store, log: silentLog });
  await catalog.start();

  logLines = [];
  const log: Logger = pino(
    { level: 'info' },
    {
      write(chunk: string) {
        for (const line of chunk.split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as LogLine);
      }
    }
  );
  runner = new CallRunner({ catalog, observe: logCall(log), maxResultBytes: 1_000_000 });
  server = createGatewayServer({
    catalog,
    runner,
    name: 'mcp-gateway',
    version: '9.9.9',
    instructions: describeServers(specs),
    listWaitMs: 1_000,
    pageSize: options.pageSize ?? PAGE_SIZE
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientSide);
}

beforeEach(() => {
  db = memoryDatabase();
  runtime = new FakeRuntime();
  runtime.customize = mcp =>
    mcp.registerTool('progress', { description: 'Reports progress twice' }, async ctx => {
      runtime.calls.push({
        serverId: 'alpha',
        instance: 0,
        tool: 'progress',
        args: { meta: ctx.mcpReq._meta ?? null }
      });
      const token = ctx.mcpReq._meta?.progressToken;
      if (token !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: 1, total: 2, message: 'halfway' }
        });
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: 2, total: 2 }
        });
      }
      return { content: [{ type: 'text', text: 'done' }] };
    });
});

afterEach(async () => {
  await client?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  await Promise.all((upstreams ?? []).map(u => u.close()));
  await runtime.stopAll();
  db.close();
});

const names = (tools: readonly Tool[]) => tools.map(t => t.name);
const cursorFor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

describe('gateway server: initialize', () => {
  it('advertises tools.listChanged and describes every server in its instructions', async () => {
    await connect();
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp-gateway', version: '9.9.9' });
    expect(client.getServerCapabilities()?.tools).toMatchObject({ listChanged: true });
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toBe(describeServers(SPECS));
    const lines = instructions.split('\n');
    expect(lines).toContain('- alpha: Alpha tools');
    expect(lines).toContain('- beta: Beta tools');
    expect(lines).toContain('- gamma');
    expect(lines).toContain('- delta: Needs a token');
  });
});

describe('gateway server: tools/list', () => {
  it('aggregates every page when the client lists without a cursor', async () => {
    await connect();
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(TOTAL_TOOLS);
    expect(names(tools)).toEqual(EXPOSED);
    expect(tools.find(t => t.name === 'gamma__g1')).toEqual({
      name: 'gamma__g1',
      description: '[gamma] the g1 tool',
      inputSchema: { type: 'object', properties: {} }
    });
  });

  it('walks pages of pageSize with nextCursor until the last', async () => {
    await connect();
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await client.request({
        method: 'tools/list',
        params: cursor === undefined ? {} : { cursor }
      });
      pages.push(names(page.tools));
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages.map(p => p.length)).toEqual([7, 7, 7, 4]);
    expect(pages.flat()).toEqual(EXPOSED);
  });

  it('returns one page for an explicit cursor', async () => {
    await connect();
    const first = await client.request({ method: 'tools/list', params: {} });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await client.listTools({ cursor: first.nextCursor! });
    expect(names(second.tools)).toEqual(EXPOSED.slice(PAGE_SIZE, 2 * PAGE_SIZE));
    expect(second.nextCursor).toEqual(expect.any(String));
    const last = await client.listTools({ cursor: cursorFor(21) });
    expect(names(last.tools)).toEqual(EXPOSED.slice(21));
    expect(last.nextCursor).toBeUndefined();
  });

  it('answers in one page when everything fits', async () => {
    await connect({ pageSize: 100 });
    const page = await client.request({ method: 'tools/list', params: {} });
    expect(page.tools).toHaveLength(TOTAL_TOOLS);
    expect(page.nextCursor).toBeUndefined();
  });

  it.each([
    ['garbage', 'garbage'],
    ['an offset beyond the end', cursorFor(TOTAL_TOOLS + 1)],
    ['a huge offset', cursorFor(999_999_999)],
    ['a negative offset', Buffer.from('o:-7').toString('base64url')],
    ['an empty cursor', '']
  ])('rejects %s as a cursor with -32602', async (_label, cursor) => {
    await connect();
    const listing = client.listTools({ cursor });
    await expect(listing).rejects.toBeInstanceOf(ProtocolError);
    await expect(listing).rejects.toMatchObject({ code: ProtocolErrorCode.InvalidParams });
  });

  it('starts no server to answer', async () => {
    await connect();
    await client.listTools();
    await client.listTools({ cursor: cursorFor(PAGE_SIZE) });
    await catalog.settled();
    expect(runtime.starts).toBe(0);
    expect(upstreams.every(u => u.state === 'stopped')).toBe(true);
  });
});

describe('gateway server: tools/call', () => {
  it('routes a call and returns the upstream result unchanged', async () => {
    await connect();
    const rich = await client.callTool({ name: 'alpha__rich', arguments: {} });
    expect(rich).toEqual(RICH_RESULT);

    const echo = await client.callTool({ name: 'beta__echo', arguments: { text: 'to beta' } });
    expect(echo).toEqual({
      content: [{ type: 'text', text: 'to beta' }],
      structuredContent: { text: 'to beta' },
      _meta: { fake: 'beta' }
    });
    expect(runtime.calls).toEqual([
      { serverId: 'alpha', instance: 1, tool: 'rich', args: {} },
      { serverId: 'beta', instance: 2, tool: 'echo', args: { text: 'to beta' } }
    ]);
    expect(runtime.started.map(s => s.id)).toEqual(['alpha', 'beta']);
  });

  it('returns a tool error as a result, not a protocol error', async () => {
    await connect();
    const failed = await client.callTool({ name: 'alpha__fail', arguments: {} });
    expect(failed).toEqual({
      content: [{ type: 'text', text: 'this tool always fails' }],
      isError: true
    });
  });

  it('logs each call with its server and outcome', async () => {
    await connect();
    await client.callTool({ name: 'beta__whoami', arguments: {} });
    await client.callTool({ name: 'beta__whoami', arguments: {} });
    const calls = logLines.filter(l => l.msg === 'tools/call');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ tool: 'beta__whoami', server: 'beta', outcome: 'ok', cold: true });
    expect(calls[1]).toMatchObject({ tool: 'beta__whoami', server: 'beta', outcome: 'ok', cold: false });
  });

  it('rejects an unknown tool with -32602 naming it, starting nothing', async () => {
    await connect();
    const call = client.callTool({ name: 'nope__missing', arguments: {} });
    await expect(call).rejects.toBeInstanceOf(ProtocolError);
    await expect(call).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
      message: expect.stringContaining('nope__missing'),
      data: { reason: 'unknown_tool' }
    });
    expect(runtime.starts).toBe(0);
    expect(logLines.find(l => l.msg === 'tools/call')).toMatchObject({
      tool: 'nope__missing',
      outcome: 'protocol_error',
      code: ProtocolErrorCode.InvalidParams
    });
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'text'],
    ['a number', 42],
    ['null', null]
  ])('rejects arguments that are %s with -32602, starting nothing', async (_label, args) => {
    await connect();
    const call = client.request({
      method: 'tools/call',
      params: { name: 'alpha__echo', arguments: args }
    });
    await expect(call).rejects.toMatchObject({ code: ProtocolErrorCode.InvalidParams });
    expect(runtime.starts).toBe(0);
    expect(runtime.calls).toEqual([]);
  });

  it('relays upstream progress to a client that asked for it', async () => {
    await connect();
    const progress: Progress[] = [];
    const result = await client.callTool(
      { name: 'alpha__progress', arguments: {}, _meta: { 'example.com/request': 'r1' } },
      { onprogress: p => progress.push(p) }
    );
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(progress).toEqual([
      { progress: 1, total: 2, message: 'halfway' },
      { progress: 2, total: 2 }
    ]);
    const seen = runtime.calls.find(c => c.tool === 'progress')!.args.meta as Record<string, unknown>;
    expect(seen['example.com/request']).toBe('r1');
    expect(seen.progressToken).toBeDefined();
  });

  it('asks the upstream for no progress when the client did not', async () => {
    await connect();
    const result = await client.callTool({ name: 'alpha__progress', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
    const seen = runtime.calls.find(c => c.tool === 'progress')!.args.meta as Record<string, unknown> | null;
    expect(seen?.progressToken).toBeUndefined();
  });

  it('converts a GatewayError from the catalog into a wire error with its reason and server', async () => {
    await connect();
    const call = client.callTool({ name: 'delta__echo', arguments: { text: 'x' } });
    await expect(call).rejects.toBeInstanceOf(ProtocolError);
    await expect(call).rejects.toMatchObject({
      code: ProtocolErrorCode.InternalError,
      message: expect.stringContaining('environment variable TOKEN not set'),
      data: { reason: 'server_unavailable', server: 'delta' }
    });
    expect(runtime.starts).toBe(0);
  });

  it('converts a failed start into -32603 with reason start_failed', async () => {
    await connect();
    runtime.failStarts = 1;
    await expect(client.callTool({ name: 'gamma__g1', arguments: {} })).rejects.toMatchObject({
      code: ProtocolErrorCode.InternalError,
      message: expect.stringContaining('spawn ENOENT'),
      data: { reason: 'start_failed', server: 'gamma' }
    });
  });

  it('converts a call timeout into -32001 with reason call_timeout', async () => {
    const slow = fakeSpec('alpha', { description: 'Alpha tools', callTimeoutMs: 100 });
    await connect({ specs: [slow] });
    await expect(client.callTool({ name: 'alpha__slow', arguments: { ms: 5_000 } })).rejects.toMatchObject({
      code: -32001,
      data: { reason: 'call_timeout', server: 'alpha' }
    });
    expect(logLines.find(l => l.msg === 'tools/call')).toMatchObject({ outcome: 'timeout', code: -32001 });
  });

  it('answers a call still running when shutdown stops calls, and every later one at once', async () => {
    await connect();
    const call = client.callTool({ name: 'alpha__slow', arguments: { ms: 30_000 } });
    call.catch(() => undefined);
    for (let wait = 0; runner.inFlight === 0 && wait < 100; wait++) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    expect(runner.inFlight).toBe(1);
    runner.stopCalls('the gateway is shutting down and its 1 s drain is over');
    const stopped = {
      code: ProtocolErrorCode.InternalError,
      message: expect.stringMatching(
        /the gateway is shutting down and its 1 s drain is over: alpha__slow was still running/
      ),
      data: { reason: 'server_unavailable', server: 'alpha' }
    };
    await expect(call).rejects.toMatchObject(stopped);
    expect(runner.inFlight).toBe(0);
    await expect(client.callTool({ name: 'alpha__slow', arguments: { ms: 1 } })).rejects.toMatchObject({
      data: { reason: 'server_unavailable' }
    });
    expect(logLines.find(l => l.msg === 'tools/call')).toMatchObject({ outcome: 'protocol_error' });
  }, 10_000);
});
