import { afterEach, describe, expect, it } from 'vitest';
import { fixtureConfig } from '../support/fixture-config.js';
import { GatewayProcess, connect, textOf } from '../support/gateway-process.js';
import { RAW_HEADERS, rawInitialize } from '../support/raw-session.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(limits: string): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(fixtureConfig(`limits: ${limits}`));
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function abandonedSession(gateway: GatewayProcess): Promise<string> {
  const response = await rawInitialize(gateway.url, 'abandoned');
  expect(response.status).toBe(200);
  return response.headers.get('mcp-session-id')!;
}

/** The HTTP status a request on session `id` gets now (404 once it is closed). */
async function statusOf(gateway: GatewayProcess, id: string): Promise<number> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...RAW_HEADERS, 'mcp-session-id': id },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' })
  });
  await response.text();
  return response.status;
}

/** Holds a session's GET stream open (a live client does), until the returned function is called. */
async function holdStream(gateway: GatewayProcess, id: string): Promise<() => void> {
  const controller = new AbortController();
  const response = await fetch(gateway.url, {
    headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
    signal: controller.signal
  });
  expect(response.status).toBe(200);
  return () => controller.abort();
}

async function closeReasonOf(gateway: GatewayProcess, id: string): Promise<unknown> {
  await fetch(new URL('/api/sessions?state=closed', gateway.url)); // the history is written in batches
  for (let attempt = 0; attempt < 40; attempt++) {
    const body = (await (await fetch(new URL(`/api/sessions/${id}`, gateway.url))).json()) as {
      closeReason?: unknown;
    };
    if (body.closeReason) return body.closeReason;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return undefined;
}

describe('session caps', () => {
  it('evicts the least recently used session of a principal at its cap instead of refusing', async () => {
    // auth none: every local client is the one principal ip:127.0.0.1, with the default cap of 32.
    const gateway = await start('{}');
    const abandoned: string[] = [];
    for (let i = 0; i < 40; i++) abandoned.push(await abandonedSession(gateway));

    const client = await connect(gateway.url, 'legacy', 'after-the-inspector');
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 'still served' } });
    expect(textOf(result)).toBe('still served');

    expect(await statusOf(gateway, abandoned[0]!)).toBe(404);
    expect(await statusOf(gateway, abandoned[39]!)).toBe(200);
    expect((await gateway.health()).sessions).toBe(32);
    expect(await closeReasonOf(gateway, abandoned[0]!)).toBe('evicted');
  });

  it('at maxSessions evicts the least recently used idle session, and refuses with a true Retry-After when none is idle', async () => {
    const gateway = await start('{ maxSessions: 2 }');
    const busy = await abandonedSession(gateway);
    const release = await holdStream(gateway, busy);
    cleanups.push(() => Promise.resolve(release()));
    const idle = await abandonedSession(gateway);

    const third = await abandonedSession(gateway);
    expect(await statusOf(gateway, idle)).toBe(404); // idle, though seen after `busy`
    expect(await statusOf(gateway, busy)).toBe(200);
    expect(await closeReasonOf(gateway, idle)).toBe('evicted');

    const releaseThird = await holdStream(gateway, third);
    cleanups.push(() => Promise.resolve(releaseThird()));
    const refused = await rawInitialize(gateway.url, 'abandoned');
    expect(refused.status).toBe(503);
    // Every session is in use: a slot frees when the least recently seen one expires after
    // gateway.sessionTimeout (1800 s by default), not in 30 s.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(1700);
    expect(retryAfter).toBeLessThanOrEqual(1800 + 30);
  });
});
