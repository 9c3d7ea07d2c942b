import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, SSEClientTransport } from '@modelcontextprotocol/client';
import { fixtureConfig } from '../support/fixture-config.js';
import { CLI, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';

/** The 2024-11-05 HTTP+SSE transport (`GET /sse`, `POST /messages`), as old clients use it. */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(...gatewayLines: string[]): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(fixtureConfig(...gatewayLines));
  cleanups.push(() => gateway.dispose());
  return gateway;
}

/** An old client: the SDK's SSE client transport on `/sse`. */
async function sseClient(gateway: GatewayProcess, name: string, token?: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  await client.connect(
    new SSEClientTransport(new URL('/sse', gateway.url), {
      requestInit: { headers },
      eventSourceInit: headers ? { fetch: (url, init) => fetch(url, { ...init, headers }) } : undefined
    })
  );
  cleanups.push(() => client.close());
  return client;
}

function createToken(gateway: GatewayProcess, name: string): string {
  const created = spawnSync(
    process.execPath,
    [CLI, 'token', 'create', '--name', name, '--state-dir', `${gateway.dir}/data`],
    { encoding: 'utf8', timeout: 20_000 }
  );
  expect(created.status, created.stderr).toBe(0);
  return created.stdout.split('\n')[0]!;
}

interface SessionRow {
  id: string;
  clientName: string | null;
  closedAt: string | null;
  closeReason: string | null;
}

async function sessionsNamed(gateway: GatewayProcess, name: string, headers?: HeadersInit) {
  const response = await fetch(new URL('/api/sessions', gateway.url), { headers });
  const body = (await response.json()) as { sessions: SessionRow[] };
  return body.sessions.filter(session => session.clientName === name);
}

/** The status of `GET /sse` sent with the given Host header (fetch cannot set one). */
function statusWithHost(gateway: GatewayProcess, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: gateway.url.hostname, port: gateway.url.port, path: '/sse', headers: { host } },
      res => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      }
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the legacy HTTP+SSE transport', () => {
  it('serves an old SSE client: a tool call, its session in /api/sessions, closed by shutdown', async () => {
    const gateway = await start();
    const client = await sseClient(gateway, 'old-sse-client');
    const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 'over sse' } });
    expect(textOf(result)).toBe('over sse');
    const { tools } = await client.listTools();
    expect(tools.map(tool => tool.name)).toContain('fixture__echo');

    let sessions: SessionRow[] = [];
    await waitUntil(async () => (sessions = await sessionsNamed(gateway, 'old-sse-client')).length === 1);
    expect(sessions[0]).toMatchObject({ closedAt: null });
    expect((await gateway.health()).sessions).toBe(1);
    const id = sessions[0]!.id;

    // A raw stream besides: shutdown must end it (an EventSource client would just reconnect).
    const raw = await fetch(new URL('/sse', gateway.url));
    const reader = raw.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: endpoint\ndata: \/messages\?sessionId=[\w-]+\n\n$/);
    const ended = (async () => {
      while (!(await reader.read()).done);
      return true;
    })();

    expect(await gateway.stop()).toMatchObject({ code: 0 });
    expect(await ended).toBe(true);
    expect(
      gateway.logs.some(
        line => line.msg === 'session closed' && line.session === id && line.reason === 'shutdown'
      )
    ).toBe(true);
  });

  it('answers a call still running at shutdown with a shutting-down error before the stream ends', async () => {
    const gateway = await GatewayProcess.start(fixtureConfig(), { env: { SHUTDOWN_DRAIN: '1' } });
    cleanups.push(() => gateway.dispose());
    const client = await sseClient(gateway, 'sse-caller');
    // Startup discovery also counts as in flight: wait it out, so the count below is the call's.
    await gateway.discovered();
    const call = client.callTool({ name: 'fixture__slow', arguments: { ms: 60_000 } }, { timeout: 20_000 });
    call.catch(() => undefined);
    await waitUntil(
      async () => ((await gateway.health()).servers[0] as unknown as { inFlight: number }).inFlight === 1
    );
    const began = Date.now();
    const exit = gateway.stop('SIGTERM');
    await expect(call).rejects.toMatchObject({
      message: expect.stringMatching(/the gateway is shutting down.*fixture__slow/)
    });
    expect(Date.now() - began).toBeLessThan(8_000);
    expect(await exit).toEqual({ code: 0, signal: null });
  });

  it('is behind the same auth as /mcp: no token gets 401, a token gets served', async () => {
    const gateway = await start('auth: { mode: token }');
    const unauthenticated = await fetch(new URL('/sse', gateway.url));
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toContain('Bearer');
    const messages = await fetch(new URL('/messages?sessionId=x', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    });
    expect(messages.status).toBe(401);

    const token = createToken(gateway, 'sse-user');
    const client = await sseClient(gateway, 'sse-with-token', token);
    const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 'let in' } });
    expect(textOf(result)).toBe('let in');

    // A session is its opener's: another token cannot post into it.
    const controller = new AbortController();
    cleanups.push(() => Promise.resolve(controller.abort()));
    const stream = await fetch(new URL('/sse', gateway.url), {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal
    });
    const endpoint = new TextDecoder().decode((await stream.body!.getReader().read()).value);
    const messagesPath = /data: (\S+)/.exec(endpoint)![1]!;
    const ping = (bearer: string) =>
      fetch(new URL(messagesPath, gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
      });
    expect((await ping(createToken(gateway, 'someone-else'))).status).toBe(404);
    expect((await ping(token)).status).toBe(202);
  });

  it('is behind the Host guard, and a POST for another session or none is refused', async () => {
    const gateway = await start();
    expect(await statusWithHost(gateway, 'attacker.example')).toBe(403);
    const foreignOrigin = await fetch(new URL('/sse', gateway.url), {
      headers: { origin: 'https://evil.example' }
    });
    expect(foreignOrigin.status).toBe(403);

    const unknown = await fetch(new URL('/messages?sessionId=no-such-session', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('GET /sse');
    const none = await fetch(new URL('/messages', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    expect(none.status).toBe(400);
  });

  it('is behind the same rate limit as /mcp', async () => {
    const gateway = await start('limits: { requestsPerMinute: 2 }');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(new URL('/messages', gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}'
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([400, 400, 429]);
    expect((await fetch(new URL('/sse', gateway.url))).status).toBe(429);
  });

  it('counts against the session cap like a 2025-era session', async () => {
    const gateway = await start('limits: { maxSessions: 1 }');
    const first = await sseClient(gateway, 'first');
    expect(textOf(await first.callTool({ name: 'fixture__echo', arguments: { text: 'one' } }))).toBe('one');
    // The first session's stream is open (in use), so there is no idle session to evict.
    const refused = await fetch(new URL('/sse', gateway.url));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toContain('gateway.limits.maxSessions');
  });

  it('closes a session whose client hangs up once: recorded once, nothing but log lines on stderr', async () => {
    const gateway = await start();
    const controller = new AbortController();
    cleanups.push(() => Promise.resolve(controller.abort()));
    const stream = await fetch(new URL('/sse', gateway.url), { signal: controller.signal });
    const endpoint = new TextDecoder().decode((await stream.body!.getReader().read()).value);
    const messagesPath = /data: (\S+)/.exec(endpoint)![1]!;
    const id = new URL(messagesPath, gateway.url).searchParams.get('sessionId');
    const initialized = await fetch(new URL(messagesPath, gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2024-11-05',
          capabilities: {},
          clientInfo: { name: 'hangs-up', version: '1' }
        }
      })
    });
    expect(initialized.status).toBe(202);
    await waitUntil(async () => (await sessionsNamed(gateway, 'hangs-up')).length === 1);

    controller.abort();
    await waitUntil(async () => (await sessionsNamed(gateway, 'hangs-up'))[0]?.closedAt != null);
    // Still serving, and the close was seen once (log lines are written asynchronously: the API may
    // show the close before its line has arrived; a second close would be logged with the first).
    expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
    await gateway.waitForLog(line => line.msg === 'session closed' && line.session === id);
    const closes = gateway.logs.filter(line => line.msg === 'session closed' && line.session === id);
    expect(closes).toHaveLength(1);
    expect(await sessionsNamed(gateway, 'hangs-up')).toHaveLength(1);
    expect(gateway.stderrText.join('\n')).not.toMatch(/RangeError|PromiseRejectCallback/);
    expect(gateway.stderrText.filter(line => line !== '' && !line.startsWith('{'))).toEqual([]);
  });

  it('expires an idle SSE session', async () => {
    const gateway = await start('sessionTimeout: 1');
    await sseClient(gateway, 'idle-sse');
    await waitUntil(
      async () => (await sessionsNamed(gateway, 'idle-sse'))[0]?.closeReason === 'expired',
      10_000
    );
    // Closed once by the gateway: no re-entrant close overflowing the stack.
    await gateway.waitForLog(line => line.msg === 'session closed' && line.reason === 'expired');
    const closes = gateway.logs.filter(line => line.msg === 'session closed' && line.reason === 'expired');
    expect(closes).toHaveLength(1);
    expect(gateway.stderrText.join('\n')).not.toMatch(/RangeError|PromiseRejectCallback/);
  });
});
