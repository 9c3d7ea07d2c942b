import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  textOf,
  waitUntil
} from '../support/gateway-process.js';

/**
 * A server that starts fine and crashes soon after, every time (issue 14, item 4): the gateway
 * must count the crashes like failed starts and stop restarting it, not start it on every call.
 * Also checks, on the same daemon, that a failing call that paid a start is recorded cold and that
 * `restarts` counts restarts (item 23).
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function serverState(gateway: GatewayProcess): Promise<string | undefined> {
  return (await gateway.health()).servers.find(server => server.id === 'fixture')?.state;
}

describe('a server that crashes after every start', () => {
  it('is marked failed after 3 crashes in a minute, and its calls then fail at once saying so', async () => {
    const tag = marker();
    // Crashing 5 s after each start: time enough for a fresh process to start and answer a call on
    // a loaded machine before it goes.
    const gateway = await GatewayProcess.start(`
defaults:
  idleTimeout: 60
  callTimeout: 10
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
    env: { FIXTURE_CRASH_AFTER_MS: "5000" }
`);
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    await waitUntil(() => processesWith(tag).length === 0);
    const client: Client = await connect(gateway.url, 'legacy');
    cleanups.push(() => client.close());

    // Crash 1: a call that pays the start and is in flight when the server exits.
    await expect(client.callTool({ name: 'fixture__crash', arguments: {} })).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining('server fixture exited (exit code 1); the next call starts it again')
    });
    // Crashes 2 and 3: calls that succeed on a fresh start, the server crashing a moment later.
    for (let crash = 2; crash <= 3; crash++) {
      await waitUntil(async () => (await serverState(gateway)) !== 'ready', 12_000);
      const echoed = await client.callTool({ name: 'fixture__echo', arguments: { text: `start ${crash}` } });
      expect(textOf(echoed)).toBe(`start ${crash}`);
      await waitUntil(async () => (await serverState(gateway)) !== 'ready', 12_000);
    }
    expect(await serverState(gateway)).toBe('failed');

    const began = performance.now();
    await expect(client.callTool({ name: 'fixture__echo', arguments: { text: 'x' } })).rejects.toMatchObject({
      code: -32603,
      message: expect.stringMatching(
        /^server fixture crashed 3 times in a minute; next try after .*exit code 1/
      )
    });
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(processesWith(tag)).toEqual([]);

    const servers = (await (await fetch(new URL('/api/servers', gateway.url))).json()) as {
      servers: { id: string; restarts: number; state: string; lastError: string | null }[];
    };
    // Discovery's start, then the three started by calls: three restarts.
    expect(servers.servers.find(server => server.id === 'fixture')).toMatchObject({
      state: 'failed',
      restarts: 3,
      lastError: expect.stringContaining('exit code 1')
    });

    // The first call failed, but it paid the start: it is recorded cold.
    const requests = (await (
      await fetch(new URL('/api/requests?tool=fixture__crash', gateway.url))
    ).json()) as { requests: { outcome: string; coldStart: boolean }[] };
    expect(requests.requests).toEqual([
      expect.objectContaining({ outcome: 'protocol_error', coldStart: true })
    ]);
  });
});
