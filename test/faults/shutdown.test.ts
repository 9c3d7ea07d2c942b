import { afterEach, describe, expect, it } from 'vitest';
import { fixtureConfig } from '../support/fixture-config.js';
import {
  FIXTURE_SERVER,
  GatewayProcess,
  connect,
  marker,
  processesWith,
  textOf,
  waitUntil
} from '../support/gateway-process.js';
import { RAW_HEADERS as HEADERS, rawInitialize } from '../support/raw-session.js';

// A shutdown whose drain ends with calls still running: each must get a JSON-RPC error saying the
// gateway is shutting down, on the stream it was asked on, well before the client's own timeout.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Longer than any wait below: a client that gets no answer fails with its own timeout instead. */
const CLIENT_TIMEOUT_MS = 20_000;

async function start(): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(fixtureConfig(), { env: { SHUTDOWN_DRAIN: '1' } });
  cleanups.push(() => gateway.dispose());
  // The tests' calls go to a server already discovered (and stopped again): each call starts it.
  await gateway.discovered();
  return gateway;
}

describe('shutdown with calls longer than the drain', () => {
  it('answers every call still running, in both eras, with a shutting-down error', async () => {
    const gateway = await start();
    const legacy = await connect(gateway.url, 'legacy', 'legacy-caller');
    const modern = await connect(gateway.url, 'modern', 'modern-caller');
    cleanups.push(
      () => legacy.close(),
      () => modern.close()
    );
    const slow = { name: 'fixture__slow', arguments: { ms: 60_000 } };
    const calls = [
      legacy.callTool(slow, { timeout: CLIENT_TIMEOUT_MS }),
      modern.callTool(slow, { timeout: CLIENT_TIMEOUT_MS })
    ];
    for (const call of calls) call.catch(() => undefined);
    await waitUntil(async () => (await gateway.health()).servers[0]!.state === 'ready', 10_000);
    await waitUntil(
      async () => ((await gateway.health()).servers[0] as unknown as { inFlight: number }).inFlight === 2
    );

    const began = Date.now();
    const exit = gateway.stop('SIGTERM');
    for (const call of calls) {
      await expect(call).rejects.toMatchObject({
        message: expect.stringMatching(/the gateway is shutting down.*fixture__slow/)
      });
    }
    expect(Date.now() - began).toBeLessThan(8_000);
    expect(await exit).toEqual({ code: 0, signal: null });
  });

  it('ends a raw 2025-era POST stream with the error event, and closes the session’s GET stream', async () => {
    const gateway = await start();
    const init = await rawInitialize(gateway.url);
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
    await (
      await fetch(gateway.url, {
        method: 'POST',
        headers: { ...HEADERS, ...session },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
      })
    ).text();
    const get = await fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25', ...session }
    });
    expect(get.status).toBe(200);
    const post = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...HEADERS, ...session },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'fixture__slow', arguments: { ms: 60_000 } }
      })
    });
    expect(post.headers.get('content-type')).toContain('text/event-stream');
    const postBody = post.text();
    const getBody = get.text();
    await waitUntil(
      async () => ((await gateway.health()).servers[0] as unknown as { inFlight: number }).inFlight === 1
    );

    const exit = gateway.stop('SIGTERM');
    const events = (await postBody)
      .split('\n')
      .filter(line => line.startsWith('data: {')) // not the priming event's empty data
      .map(line => JSON.parse(line.slice(6)) as { id?: number; error?: { code: number; message: string } });
    expect(events).toContainEqual({
      jsonrpc: '2.0',
      id: 7,
      error: expect.objectContaining({ message: expect.stringContaining('the gateway is shutting down') })
    });
    await getBody; // ends (rather than hanging) once the session is closed
    expect(await exit).toEqual({ code: 0, signal: null });
  });
});

describe('shutdown during startup discovery', () => {
  it('does not wait out the drain for a server still starting when no call is in flight', async () => {
    // A server that never finishes its handshake keeps startup discovery going for startTimeout
    // (60 s); the drain is 30 s. Discovery is no caller's call: shutdown stops it at once.
    const tag = marker();
    const gateway = await GatewayProcess.start(
      `defaults:
  startTimeout: 60
servers:
  silent:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
    env: { FIXTURE_SILENT: "1" }
`,
      { env: { SHUTDOWN_DRAIN: '30' } }
    );
    cleanups.push(() => gateway.dispose());
    await waitUntil(async () => {
      const health = await gateway.health();
      return health.discovering === true && health.servers[0]!.state === 'starting';
    });
    expect(processesWith(tag)).toHaveLength(1);
    expect((await gateway.health()).servers[0]).toMatchObject({ inFlight: 0 });

    const began = Date.now();
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // Half the drain: waiting for the discovery would take all of it.
    expect(Date.now() - began).toBeLessThan(15_000);
    expect(processesWith(tag)).toEqual([]);
  });
});

describe('requests during the drain', () => {
  it('are answered 503 with Retry-After, and /readyz is not ready, while a call finishes', async () => {
    const gateway = await GatewayProcess.start(fixtureConfig(), { env: { SHUTDOWN_DRAIN: '30' } });
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    const client = await connect(gateway.url, 'modern', 'draining-caller');
    cleanups.push(() => client.close());
    const call = client.callTool(
      { name: 'fixture__slow', arguments: { ms: 3_000 } },
      { timeout: CLIENT_TIMEOUT_MS }
    );
    await waitUntil(
      async () => ((await gateway.health()).servers[0] as unknown as { inFlight: number }).inFlight === 1
    );

    const exit = gateway.stop('SIGTERM');
    await gateway.waitForLog(line => line.msg === 'shutting down');
    const refused = await fetch(gateway.url, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { message: 'The gateway is shutting down' } });
    const ready = await fetch(new URL('/readyz', gateway.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, problems: ['the gateway is shutting down'] });

    // The call running when the signal came finishes within the drain, and then the gateway stops.
    expect(textOf(await call)).toContain('slept');
    expect(await exit).toEqual({ code: 0, signal: null });
  });
});
