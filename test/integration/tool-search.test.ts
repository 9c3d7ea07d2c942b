import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Client,
  StreamableHTTPClientTransport,
  type Progress,
  type Tool
} from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  textOf,
  waitUntil,
  type Era
} from '../support/gateway-process.js';

// Two servers, discovered once by a gateway that lists every tool; then a gateway on the same state
// directory with `expose: search` answers from the stored catalog, with both servers stopped.
const MARK = marker();
const config = (expose: string) => `
gateway:
  expose: ${expose}
  auth: { mode: token }
defaults:
  callTimeout: 10
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${MARK}"]
  clock:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${MARK}"]
    env: { FIXTURE_TOOLS: "echo,progress" }
  asker:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${MARK}"]
    env: { FIXTURE_ASK: "1", FIXTURE_TOOLS: "ask" }
`;

let stateDir: string;
let gateway: GatewayProcess;
let admin: string;
let scoped: string;
const clients: Client[] = [];

function createToken(...args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, 'token', 'create', ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    timeout: 20_000
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n')[0]!;
}

async function connect(era: Era, token: string): Promise<Client> {
  const client = new Client(
    { name: `search-${era}`, version: '1.0.0' },
    {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' }
    }
  );
  client.setRequestHandler('elicitation/create', () => ({
    action: 'accept',
    content: { name: `client-${era}` }
  }));
  await client.connect(
    new StreamableHTTPClientTransport(gateway.url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } }
    })
  );
  clients.push(client);
  return client;
}

async function api<T>(route: string): Promise<T> {
  const response = await fetch(new URL(route, gateway.url), {
    headers: { authorization: `Bearer ${admin}` }
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

/** The servers' states, and how many of their processes run. */
async function serversNow(): Promise<{ states: string[]; processes: number }> {
  const { servers } = await api<{ servers: { id: string; state: string }[] }>('/api/servers');
  return {
    states: servers.map(server => `${server.id}:${server.state}`).sort(),
    processes: processesWith(MARK).length
  };
}

const STOPPED = { states: ['asker:stopped', 'clock:stopped', 'fixture:stopped'], processes: 0 };

const found = (result: { structuredContent?: unknown }) =>
  (result.structuredContent as { tools: Tool[] }).tools.map(tool => tool.name);

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'tool-search-'));
  admin = createToken('--name', 'ops', '--admin');
  scoped = createToken('--name', 'clock-only', '--tools', 'clock__*');
  const discovering = await GatewayProcess.start(config('all'), { stateDir });
  try {
    await discovering.discovered();
  } finally {
    await discovering.dispose();
  }
  await waitUntil(() => processesWith(MARK).length === 0);
  gateway = await GatewayProcess.start(config('search'), { stateDir });
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await gateway?.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

// Runs first, in both eras: no call has started a server yet.
describe.each<Era>(['legacy', 'modern'])('search_tools, %s era', era => {
  it('lists the two tools, and searches the stored catalog without starting a server', async () => {
    const client = await connect(era, admin);
    const { tools } = await client.listTools(undefined, { cacheMode: 'bypass' });
    expect(tools.map(tool => tool.name)).toEqual(['search_tools', 'call_tool']);

    const result = await client.callTool({
      name: 'search_tools',
      arguments: { query: 'report progress steps' }
    });
    expect(result.isError).toBeFalsy();
    const hits = (result.structuredContent as { tools: Tool[] }).tools;
    expect(
      hits
        .map(tool => tool.name)
        .slice(0, 2)
        .sort()
    ).toEqual(['clock__progress', 'fixture__progress']);
    expect(hits[0]).toMatchObject({
      description: expect.stringContaining('Reports progress steps'),
      inputSchema: { type: 'object', properties: { steps: { type: 'number' } } }
    });
    expect(JSON.parse(textOf(result))).toEqual(hits);
    expect(await serversNow()).toEqual(STOPPED);
  });
});

describe.each<Era>(['legacy', 'modern'])('call_tool, %s era', era => {
  it('calls a tool it was never listed, under its real name in the history, with its progress', async () => {
    const client = await connect(era, admin);
    const echoed = await client.callTool({
      name: 'call_tool',
      arguments: { name: 'fixture__echo', arguments: { text: `hello ${era}` } }
    });
    expect(echoed.isError).toBeFalsy();
    expect(textOf(echoed)).toBe(`hello ${era}`);

    const progress: Progress[] = [];
    const stepped = await client.callTool(
      { name: 'call_tool', arguments: { name: 'clock__progress', arguments: { steps: 3 } } },
      { onprogress: step => progress.push(step) }
    );
    expect(textOf(stepped)).toBe('done 3');
    expect(progress.map(step => step.progress)).toEqual([1, 2, 3]);

    await waitUntil(async () => {
      const { requests } = await api<{ requests: { tool: string }[] }>('/api/requests?server=fixture');
      return requests.some(request => request.tool === 'fixture__echo');
    });
    const { requests } = await api<{ requests: { tool: string; server: string; outcome: string }[] }>(
      '/api/requests?tool=fixture__echo'
    );
    expect(requests[0]).toMatchObject({ tool: 'fixture__echo', server: 'fixture', outcome: 'ok' });
    const callTools = await api<{ requests: unknown[] }>('/api/requests?tool=call_tool');
    expect(callTools.requests).toEqual([]);
  });

  it("passes the server's questions to the caller, and a cancellation to the server", async () => {
    const client = await connect(era, admin);
    const asked = await client.callTool({
      name: 'call_tool',
      arguments: { name: 'asker__ask', arguments: { what: 'elicit' } }
    });
    expect(textOf(asked)).toContain(`client-${era}`);

    const controller = new AbortController();
    const slow = client.callTool(
      { name: 'call_tool', arguments: { name: 'fixture__slow', arguments: { ms: 5_000, tag: era } } },
      { signal: controller.signal }
    );
    slow.catch(() => undefined);
    setTimeout(() => controller.abort(), 300);
    await expect(slow).rejects.toBeDefined();
    await waitUntil(async () => {
      const { requests } = await api<{ requests: { tool: string; outcome: string }[] }>(
        '/api/requests?tool=fixture__slow'
      );
      return (
        requests.filter(request => request.outcome === 'cancelled').length === (era === 'legacy' ? 1 : 2)
      );
    });
  });

  it('still takes a direct call of a real tool name, with its checks', async () => {
    const client = await connect(era, admin);
    const echoed = await client.callTool({ name: 'fixture__echo', arguments: { text: 'direct' } });
    expect(textOf(echoed)).toBe('direct');
    await expect(client.callTool({ name: 'fixture__nope', arguments: {} })).rejects.toMatchObject({
      code: -32602
    });
  });

  it('answers bad input with tool errors that say what to do', async () => {
    const client = await connect(era, admin);
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError, JSON.stringify(result)).toBe(true);
      return textOf(result);
    };
    expect(await call('search_tools', { query: '' })).toMatch(/search_tools needs a query/);
    expect(await call('search_tools', { query: 'word '.repeat(2_000) })).toBe(
      'search_tools: the query is 10000 characters long, over the limit of 1000; say in a few words what you want to do'
    );
    expect(await call('search_tools', { query: 'echo', limit: 50 })).toMatch(
      /limit must be a whole number from 1 to 20/
    );
    expect(await call('call_tool', {})).toMatch(
      /call_tool needs the name of a tool: find one with search_tools/
    );
    expect(await call('call_tool', { name: 'fixture__nope' })).toMatch(
      /^call_tool: Unknown tool: fixture__nope\. search_tools lists the tools you can call\.$/
    );
    expect(await call('call_tool', { name: 'nowhere__echo' })).toMatch(/Unknown tool: nowhere__echo/);
    // The tool's own schema is checked, as for a direct call.
    expect(await call('call_tool', { name: 'fixture__echo', arguments: { text: 5 } })).toMatch(/text/);
  });

  it('searches and calls only within a scoped token', async () => {
    const client = await connect(era, scoped);
    const result = await client.callTool({
      name: 'search_tools',
      arguments: { query: 'echo text', limit: 20 }
    });
    expect(found(result)).toEqual(['clock__echo']);
    const refused = await client.callTool({
      name: 'call_tool',
      arguments: { name: 'fixture__echo', arguments: { text: 'x' } }
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe(
      'call_tool: tool fixture__echo is outside the scope of token:clock-only. search_tools lists the tools you can call.'
    );
    const allowed = await client.callTool({
      name: 'call_tool',
      arguments: { name: 'clock__echo', arguments: { text: 'tick' } }
    });
    expect(textOf(allowed)).toBe('tick');
  });
});
