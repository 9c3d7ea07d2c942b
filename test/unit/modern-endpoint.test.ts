import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/catalog.js';
import type { Profiles } from '../../src/catalog/profiles.js';
import type { CallRunner } from '../../src/sessions/call-runner.js';
import { FastPath } from '../../src/sessions/fast-path.js';
import { InputStates } from '../../src/sessions/input-states.js';
import { ModernEndpoint } from '../../src/sessions/modern-endpoint.js';
import { silentLog } from '../support/fake-runtime.js';

/**
 * The 2026-era endpoint's per-profile SDK handlers, over HTTP with real SDK clients: a handler is
 * made at a profile's first request and let go when a reload removes the profile.
 */

const servers: http.Server[] = [];
const clients: Client[] = [];
const endpoints: ModernEndpoint[] = [];

afterEach(async () => {
  arrived = false;
  await Promise.all(clients.splice(0).map(client => client.close().catch(() => undefined)));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
  await Promise.all(endpoints.splice(0).map(endpoint => endpoint.close()));
});

/** Whether a `wait` call has arrived, and what releases it. */
let arrived = false;
let release = () => {};

/** A gateway-like server: `wait` answers once released, naming the profile it was built for. */
function newServer(profile: string | undefined): Server {
  const server = new Server(
    { name: 'test', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } }
  );
  server.setRequestHandler('tools/list', () => ({
    tools: [{ name: 'wait', inputSchema: { type: 'object' as const } }]
  }));
  server.setRequestHandler('tools/call', async () => {
    await new Promise<void>(resolve => {
      release = resolve;
      arrived = true;
    });
    return { content: [{ type: 'text' as const, text: `answered on ${profile ?? 'the root'}` }] };
  });
  return server;
}

/** The endpoint served over HTTP, `/mcp/<profile>` routed to `profile` as the app does. */
async function serve(endpoint: ModernEndpoint): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const profile = /^\/mcp\/([^/?]+)/.exec(req.url ?? '')?.[1];
      void endpoint.handle(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')), profile);
    });
  });
  servers.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

/**
 * An endpoint with a fast path serving profile `dev` while `devExists()`, whose tool list (one tool,
 * `wait`) is ready once `listed()` resolves. Only what a fast `tools/list` of dev touches is real:
 * the view's list and the runner's scope check.
 */
function withFastPath(devExists: () => boolean, listed: () => Promise<void>) {
  const tools = [{ name: 'wait', inputSchema: { type: 'object' as const } }];
  const view = {
    config: {},
    list: async () => {
      await listed();
      return tools;
    },
    toolName: (name: string) => name
  };
  const fastPath = new FastPath({
    catalog: { onChanged: () => () => {} } as unknown as Catalog,
    runner: { allows: () => true } as unknown as CallRunner,
    listWaitMs: 1_000,
    pageSize: 100,
    serverInfo: { name: 'test', version: '1.0.0' },
    maxRequestBodySize: 1_000_000,
    inputStates: new InputStates(),
    profiles: {
      get: (name: string) => (name === 'dev' && devExists() ? view : undefined)
    } as unknown as Profiles
  });
  const endpoint = new ModernEndpoint(
    newServer,
    silentLog,
    1_000_000,
    undefined,
    undefined,
    undefined,
    undefined,
    fastPath
  );
  endpoints.push(endpoint);
  return { fastPath, endpoint };
}

async function connect(url: string): Promise<Client> {
  const client = new Client(
    { name: 'modern-endpoint-test', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } }
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return client;
}

describe('ModernEndpoint handlers of profiles', () => {
  it('lets go of a removed profile: its call in flight is answered, then its listen stream ends', async () => {
    const endpoint = new ModernEndpoint(newServer, silentLog, 1_000_000);
    endpoints.push(endpoint);
    const url = await serve(endpoint);
    expect(endpoint.hasHandler('dev')).toBe(false);

    const dev = await connect(`${url}/dev`);
    const listener = await dev.listen({ toolsListChanged: true });
    let ended: string | undefined;
    void listener.closed.then(how => (ended = how));
    const calling = dev.callTool({ name: 'wait', arguments: {} });
    await expect.poll(() => arrived, { timeout: 5_000 }).toBe(true);
    expect(endpoint.hasHandler('dev')).toBe(true);
    expect(endpoint.hasHandler(undefined)).toBe(true); // the root's, made at construction

    endpoint.retire('dev');
    expect(endpoint.hasHandler('dev')).toBe(false);
    expect(endpoint.hasHandler(undefined)).toBe(true);

    // The listen stream stays open while the call is in flight; the call is answered, then the
    // handler is closed, which ends the stream (gracefully: the server ended it).
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(ended).toBeUndefined();
    release();
    const result = await calling;
    expect(result.content).toEqual([{ type: 'text', text: 'answered on dev' }]);
    expect(await listener.closed).toBe('graceful');
  });

  it('makes a new handler if the profile comes back', async () => {
    const endpoint = new ModernEndpoint(newServer, silentLog, 1_000_000);
    endpoints.push(endpoint);
    const url = await serve(endpoint);
    await (await connect(`${url}/dev`)).listTools();
    endpoint.retire('dev');
    expect(endpoint.hasHandler('dev')).toBe(false);

    const again = await connect(`${url}/dev`);
    expect((await again.listTools()).tools.map(tool => tool.name)).toEqual(['wait']);
    expect(endpoint.hasHandler('dev')).toBe(true);
  });

  it("lets go of the fast path's endpoint of a removed profile too", async () => {
    const { fastPath, endpoint } = withFastPath(
      () => true,
      () => Promise.resolve()
    );
    const url = await serve(endpoint);
    const dev = await connect(`${url}/dev`);
    expect((await dev.listTools(undefined, { cacheMode: 'bypass' })).tools.map(tool => tool.name)).toEqual([
      'wait'
    ]);
    expect(fastPath.hasEndpoint('dev')).toBe(true);

    endpoint.retire('dev');
    expect(fastPath.hasEndpoint('dev')).toBe(false);
  });

  it('refuses a request whose profile was removed while the fast path waited, making no handler for it', async () => {
    // Profile dev's list waits (as for startup discovery) until released; the reload removes dev meanwhile.
    let devExists = true;
    let listed = () => {};
    const waiting = new Promise<void>(resolve => (listed = resolve));
    const { fastPath, endpoint } = withFastPath(
      () => devExists,
      () => waiting
    );
    const url = await serve(endpoint);
    // A cursor the kept pages never issued: the fast path leaves the request to the SDK path.
    const answer = fetch(`${url}/dev`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list'
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/list',
        params: {
          cursor: 'never-issued',
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {}
          }
        }
      })
    });
    await expect.poll(() => fastPath.hasEndpoint('dev'), { timeout: 5_000 }).toBe(true);
    devExists = false;
    endpoint.retire('dev');
    listed();

    const response = await answer;
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: -32000,
        message:
          'Unknown profile "dev": a reload removed it from servers.yaml while this request was being served'
      }
    });
    expect(endpoint.hasHandler('dev')).toBe(false);

    // Back in servers.yaml, it is served again, by a handler made for it.
    devExists = true;
    const again = await connect(`${url}/dev`);
    expect((await again.listTools(undefined, { cacheMode: 'bypass' })).tools.map(tool => tool.name)).toEqual([
      'wait'
    ]);
    expect(endpoint.hasHandler('dev')).toBe(true);
  });
});
