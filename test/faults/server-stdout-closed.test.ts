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
 * A server whose stdout ends while its process lives on, with no exit to report (issue 14, item 1,
 * upstream side; a container whose engine is killed looks the same to the upstream). The end of
 * the stream must count as the end of the server: the call in flight fails naming the server and
 * the reason, the process is stopped, and the next call starts a fresh one, never "Not connected".
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('a server whose stdout closes while it lives on', () => {
  it('counts as ended: the call fails saying so, and the next call starts a fresh instance', async () => {
    const tag = marker();
    const gateway = await GatewayProcess.start(`
defaults:
  idleTimeout: 0
  callTimeout: 20
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
    env: { FIXTURE_CLOSE_STDOUT: "1" }
`);
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    const client: Client = await connect(gateway.url, 'legacy');
    cleanups.push(() => client.close());
    const firstPid = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));

    const began = performance.now();
    await expect(client.callTool({ name: 'fixture__close_stdout', arguments: {} })).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining(
        'server fixture exited (its stdout closed, and no exit status followed); the next call starts it again'
      ),
      data: { reason: 'server_exited', server: 'fixture' }
    });
    expect(performance.now() - began).toBeLessThan(5_000);

    // The old process is stopped; the next calls run on a fresh one.
    await waitUntil(() => !processesWith(tag).includes(Number(firstPid)), 10_000);
    for (let i = 0; i < 3; i++) {
      const pid = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));
      expect(pid).not.toBe(firstPid);
    }
    expect(processesWith(tag)).toHaveLength(1);
  }, 60_000);
});
