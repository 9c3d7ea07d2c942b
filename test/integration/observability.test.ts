import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamableHTTPClientTransport, type Client } from '@modelcontextprotocol/client';
import { connect, FIXTURE_SERVER, GatewayProcess, waitUntil } from '../support/gateway-process.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function config(extra = ''): string {
  return `
${extra}
defaults:
  idleTimeout: 30
servers:
  fixture:
    description: The test fixture
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    callTimeout: 1
`;
}

async function start(text = config(), stateDir?: string): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(text, stateDir ? { stateDir } : {});
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function clientOf(gateway: GatewayProcess, era: 'legacy' | 'modern', name?: string): Promise<Client> {
  const client = await connect(gateway.url, era, name);
  cleanups.push(() => client.close());
  return client;
}

async function api<T = Record<string, unknown>>(gateway: GatewayProcess, route: string, init?: RequestInit) {
  const response = await fetch(new URL(route, gateway.url), init);
  return { status: response.status, body: (await response.json()) as T };
}

interface RequestRow {
  id: number;
  sessionId: string | null;
  clientKey: string | null;
  server: string | null;
  tool: string;
  outcome: string;
  error: string | null;
  bytesIn: number;
  bytesOut: number;
  coldStart: boolean;
  durationMs: number;
}

function tempState(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'state-'));
  cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  return dir;
}

describe('sessions and requests, recorded', () => {
  it('records a 2025-era session at initialize with its client, and its close on DELETE', async () => {
    const gateway = await start();
    const transport = new StreamableHTTPClientTransport(gateway.url);
    const client = await connect(gateway.url, 'legacy', 'inspector-like');
    const sessionId = (client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
    expect(sessionId).toBeTruthy();

    const open = await api<{ sessions: Record<string, unknown>[] }>(gateway, '/api/sessions?state=open');
    const session = open.body.sessions.find(s => s.id === sessionId);
    expect(session).toMatchObject({
      clientName: 'inspector-like',
      clientVersion: '1.0.0',
      protocolVersion: '2025-11-25',
      closedAt: null,
      remoteAddress: expect.stringContaining('127.0.0.1'),
      userAgent: expect.any(String)
    });
    expect(session?.capabilities).toBeTypeOf('object');

    await client.callTool({ name: 'fixture__echo', arguments: { text: 'hi' } });
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
    await transport.close();

    const detail = await api<Record<string, unknown> & { requests: RequestRow[] }>(
      gateway,
      `/api/sessions/${sessionId}`
    );
    expect(detail.body).toMatchObject({
      id: sessionId,
      closeReason: 'deleted',
      closedAt: expect.any(String)
    });
    expect(detail.body.requests).toHaveLength(1);
    expect(detail.body.requests[0]).toMatchObject({
      tool: 'fixture__echo',
      server: 'fixture',
      outcome: 'ok'
    });
    await gateway.waitForLog(line => line.msg === 'session closed' && line.reason === 'deleted');
  });

  it('records 2026-era requests with the client identity from their envelope, grouped', async () => {
    const gateway = await start();
    const client = await clientOf(gateway, 'modern', 'modern-client');
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'a' } });
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'b' } });

    const { body } = await api<{ clients: Record<string, unknown>[] }>(gateway, '/api/sessions');
    const grouped = body.clients.find(c => c.clientName === 'modern-client');
    expect(grouped).toMatchObject({
      clientVersion: '1.0.0',
      protocolVersion: '2026-07-28',
      firstSeenAt: expect.any(String),
      lastSeenAt: expect.any(String)
    });
    expect(grouped?.requests).toBeGreaterThanOrEqual(3); // discover, list, two calls…
    const requests = await api<{ requests: RequestRow[] }>(gateway, '/api/requests?tool=fixture__echo');
    expect(requests.body.requests).toHaveLength(2);
    expect(requests.body.requests.every(r => r.sessionId === null && r.clientKey === grouped?.key)).toBe(
      true
    );
  });

  it('records each outcome: ok, tool error, protocol error, timeout and cancellation', async () => {
    const gateway = await start();
    const client = await clientOf(gateway, 'legacy');
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'hello' } });
    await client.callTool({ name: 'fixture__fail', arguments: {} });
    await expect(client.callTool({ name: 'fixture__nope', arguments: {} })).rejects.toMatchObject({
      code: -32602
    });
    await expect(client.callTool({ name: 'fixture__slow', arguments: { ms: 5_000 } })).rejects.toMatchObject({
      code: -32001
    });
    const controller = new AbortController();
    const cancelled = client.callTool(
      { name: 'fixture__slow', arguments: { ms: 900 } },
      { signal: controller.signal }
    );
    cancelled.catch(() => undefined);
    setTimeout(() => controller.abort(), 200);
    await expect(cancelled).rejects.toBeDefined();

    await waitUntil(
      async () => (await api<{ requests: RequestRow[] }>(gateway, '/api/requests')).body.requests.length === 5
    );
    const { body } = await api<{ requests: RequestRow[] }>(gateway, '/api/requests');
    expect(body.requests.map(r => r.outcome)).toEqual([
      'cancelled',
      'timeout',
      'protocol_error',
      'tool_error',
      'ok'
    ]);
    const [cancel, timeout, unknown, toolError, ok] = body.requests;
    expect(ok).toMatchObject({ server: 'fixture', tool: 'fixture__echo', error: null, coldStart: true });
    expect(ok!.bytesIn).toBe(Buffer.byteLength(JSON.stringify({ text: 'hello' })));
    expect(ok!.bytesOut).toBeGreaterThan(0);
    expect(toolError).toMatchObject({ outcome: 'tool_error', coldStart: false });
    // A name that routes nowhere belongs to no server (and so cannot grow per-server metrics).
    expect(unknown).toMatchObject({ server: null, error: expect.stringContaining('fixture__nope') });
    expect(timeout).toMatchObject({ error: expect.stringContaining('did not finish within 1s') });
    expect(timeout!.durationMs).toBeGreaterThanOrEqual(900);
    expect(cancel).toMatchObject({ tool: 'fixture__slow', server: 'fixture' });

    const filtered = await api<{ requests: RequestRow[] }>(gateway, '/api/requests?outcome=timeout');
    expect(filtered.body.requests.map(r => r.id)).toEqual([timeout!.id]);
    const page = await api<{ requests: RequestRow[]; nextBefore: number | null }>(
      gateway,
      '/api/requests?limit=2'
    );
    expect(page.body.requests.map(r => r.id)).toEqual([cancel!.id, timeout!.id]);
    expect(page.body.nextBefore).toBe(timeout!.id);
    const next = await api<{ requests: RequestRow[] }>(
      gateway,
      `/api/requests?limit=2&before=${page.body.nextBefore}`
    );
    expect(next.body.requests.map(r => r.id)).toEqual([unknown!.id, toolError!.id]);
  });

  it('keeps history across a restart and after a kill -9 (all but the last instant), and prunes past maxRequests', async () => {
    const stateDir = tempState();
    const text = config('history:\n  maxRequests: 3');
    const first = await start(text, stateDir);
    const client = await clientOf(first, 'legacy');
    for (let i = 0; i < 5; i++)
      await client.callTool({ name: 'fixture__echo', arguments: { text: `n${i}` } });
    // Past one flush interval: the rows are in the database file (read beside the gateway, as
    // the API would flush first).
    await waitUntil(() => {
      const db = new DatabaseSync(path.join(stateDir, 'gateway.db'), { readOnly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n === 5;
      } finally {
        db.close();
      }
    }, 5_000);
    expect(await first.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    const second = await start(text, stateDir);
    const { body } = await api<{ requests: RequestRow[] }>(second, '/api/requests');
    // Five were written before the kill; the restart pruned all but the newest three.
    expect(body.requests).toHaveLength(3);
    expect(body.requests.every(r => r.outcome === 'ok' && r.tool === 'fixture__echo')).toBe(true);
    await second.waitForLog(line => line.msg === 'pruned old request history' && line.removed === 2);
  });

  it('closes a session idle past sessionTimeout (its id then gets 404), but not one in use', async () => {
    const gateway = await start(config('gateway:\n  sessionTimeout: 1'));
    const client = await clientOf(gateway, 'legacy');
    const busy = await clientOf(gateway, 'legacy');
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const busyId = (busy.transport as StreamableHTTPClientTransport).sessionId!;
    const began = Date.now();
    while (Date.now() - began < 2_500) {
      await busy.ping(); // each request is a heartbeat
      await new Promise(resolve => setTimeout(resolve, 250));
    }
    const alive = await api<Record<string, unknown>>(gateway, `/api/sessions/${busyId}`);
    expect(alive.body).toMatchObject({ closedAt: null });
    expect(
      Date.parse(String(alive.body.lastSeenAt)) - Date.parse(String(alive.body.openedAt))
    ).toBeGreaterThan(2_000);
    await gateway.waitForLog(line => line.msg === 'session expired' && line.session === sessionId, 5_000);
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' })
    });
    expect(response.status).toBe(404);
    const { body } = await api<Record<string, unknown>>(gateway, `/api/sessions/${sessionId}`);
    expect(body).toMatchObject({ closeReason: 'expired' });
  });
});

describe('REST API', () => {
  it('shows servers, starts and stops them, lists tools and calls one', async () => {
    const gateway = await start();
    await gateway.discovered();
    const servers = await api<{ servers: Record<string, unknown>[] }>(gateway, '/api/servers');
    expect(servers.body.servers).toEqual([
      expect.objectContaining({
        id: 'fixture',
        runtime: 'process',
        state: 'stopped',
        description: 'The test fixture',
        inFlight: 0,
        tools: 9,
        lastError: null
      })
    ]);
    const started = await api(gateway, '/api/servers/fixture/start', { method: 'POST' });
    expect(started).toMatchObject({ status: 200, body: { state: 'ready' } });
    const stopped = await api(gateway, '/api/servers/fixture/stop', { method: 'POST' });
    expect(stopped).toMatchObject({ status: 200, body: { state: 'stopped' } });
    expect(await api(gateway, '/api/servers/nope/start', { method: 'POST' })).toMatchObject({ status: 404 });
    // A route asked with a method it does not take: 405 with the methods it does (Allow), not 404.
    const wrongMethod = await fetch(new URL('/api/servers/fixture/start', gateway.url));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await wrongMethod.json()).toMatchObject({
      error: { code: 'method_not_allowed', message: expect.stringContaining('it takes POST') }
    });
    expect(await api(gateway, '/api/servers', { method: 'DELETE' })).toMatchObject({
      status: 405,
      body: { error: { code: 'method_not_allowed' } }
    });
    expect(await api(gateway, '/api/no-such-route')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } }
    });

    const tools = await api<{ tools: Record<string, unknown>[] }>(gateway, '/api/tools');
    expect(tools.body.tools).toContainEqual(
      expect.objectContaining({ name: 'fixture__echo', server: 'fixture', serverTool: 'echo' })
    );

    const call = await api(gateway, '/api/tools/fixture__echo/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'over REST' })
    });
    expect(call).toMatchObject({ status: 200, body: { content: [{ type: 'text', text: 'over REST' }] } });
    expect(await api(gateway, '/api/tools/fixture__nope/call', { method: 'POST' })).toMatchObject({
      status: 404,
      body: {
        error: { code: 'unknown_tool', rpcCode: -32602, message: expect.stringContaining('fixture__nope') }
      }
    });
    const recorded = await api<{ requests: RequestRow[] }>(gateway, '/api/requests?limit=1');
    expect(recorded.body.requests[0]).toMatchObject({ clientKey: 'api', tool: 'fixture__nope' });
  });

  it('refuses a JSON null body (not read as no arguments, or as approve all) and an undecodable path with 400', async () => {
    const gateway = await start();
    const json = { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' };
    expect(await api(gateway, '/api/tools/fixture__echo/call', json)).toEqual({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          message: expect.stringContaining('the body must be a JSON object of tool arguments')
        }
      }
    });
    expect(await api(gateway, '/api/servers/fixture/approve', json)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } }
    });
    expect(await api(gateway, '/api/sessions/%ZZ')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          message: 'the path part "%ZZ" is not valid percent-encoding: write a literal % as %25'
        }
      }
    });
    const recorded = await api<{ requests: RequestRow[] }>(gateway, '/api/requests?limit=5');
    expect(recorded.body.requests).toEqual([]); // no call was made
  });

  it.each([
    ['/api/requests?limit=abc', 'limit'],
    ['/api/requests?outcome=bogus', 'outcome'],
    ['/api/requests?since=yesterday', 'since'],
    ['/api/requests?colour=blue', 'colour'],
    ['/api/sessions?state=sleepy', 'state']
  ])('refuses %s with 400 naming %s', async (route, name) => {
    const gateway = await start();
    const { status, body } = await api<{ error: { message: string } }>(gateway, route);
    expect(status).toBe(400);
    expect(body.error.message).toContain(`"${name}"`);
  });

  it('streams a server state change and a finished request on /api/events', async () => {
    const gateway = await start();
    const controller = new AbortController();
    cleanups.push(() => Promise.resolve(controller.abort()));
    const response = await fetch(new URL('/api/events', gateway.url), { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const seen = (async () => {
      while (!(text.includes('event: server_state') && text.includes('event: request_finished'))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    })();
    const client = await clientOf(gateway, 'legacy');
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'x' } });
    await seen;
    expect(text).toMatch(/event: server_state\ndata: \{[^\n]*"server":"fixture","state":"(starting|ready)"/);
    expect(text).toMatch(/event: request_finished\ndata: \{[^\n]*"tool":"fixture__echo","outcome":"ok"/);
    expect(text).toMatch(/event: session_opened/);
  });

  it('serves an OpenAPI 3.1 document listing every route', async () => {
    const gateway = await start();
    const { body } = await api<{ openapi: string; paths: Record<string, unknown> }>(
      gateway,
      '/api/openapi.json'
    );
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual(
      [
        '/healthz',
        '/readyz',
        '/metrics',
        '/api/openapi.json',
        '/api/audit',
        '/api/servers',
        '/api/servers/{id}/start',
        '/api/servers/{id}/stop',
        '/api/servers/{id}/login',
        '/api/servers/{id}/approve',
        '/api/quarantine',
        '/api/tools',
        '/api/tools/{name}/call',
        '/api/prompts',
        '/api/resources',
        '/api/sessions',
        '/api/sessions/{id}',
        '/api/requests',
        '/api/events',
        '/api/reload',
        '/api/tokens',
        '/api/tokens/{id}'
      ].sort()
    );
  });
});

describe('health and metrics', () => {
  it('answers /readyz with what it checked', async () => {
    const gateway = await start();
    const { status, body } = await api(gateway, '/readyz');
    expect(status).toBe(200);
    expect(body).toEqual({
      ready: true,
      checks: { config: true, store: true },
      problems: [],
      unavailable: []
    });
  });

  it('serves Prometheus text that counts the calls made', async () => {
    const gateway = await start();
    await gateway.discovered(); // a name is a label once the catalog lists it
    const client = await clientOf(gateway, 'legacy');
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'fixture__echo', arguments: { text: 'm' } });
    await client.callTool({ name: 'fixture__fail', arguments: {} });
    const response = await fetch(new URL('/metrics', gateway.url));
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
      expect(match, `not Prometheus text: ${line}`).not.toBeNull();
      samples.set(match![1]!, Number(match![2]));
    }
    expect(samples.get('mcp_gateway_calls_total{server="fixture",tool="fixture__echo",outcome="ok"}')).toBe(
      3
    );
    expect(
      samples.get('mcp_gateway_calls_total{server="fixture",tool="fixture__fail",outcome="tool_error"}')
    ).toBe(1);
    expect(samples.get('mcp_gateway_call_duration_seconds_count{server="fixture"}')).toBe(4);
    expect(samples.get('mcp_gateway_cold_start_duration_seconds_count{server="fixture"}')).toBe(1);
    expect(samples.get('mcp_gateway_server_starts_total{server="fixture"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('mcp_gateway_servers_running')).toBe(1);
    expect(samples.get('mcp_gateway_sessions_open')).toBe(1);
    expect(samples.get('mcp_gateway_store_write_failures_total')).toBe(0);
  });
});
