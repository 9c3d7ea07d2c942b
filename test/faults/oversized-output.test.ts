import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { connect, FIXTURE_SERVER, GatewayProcess, textOf } from '../support/gateway-process.js';

/**
 * A server whose answer is one stdout line over the gateway's 64 MiB limit (issue 14, item 5):
 * the call waiting on it must fail at once with a clear error, not wait out its callTimeout, and
 * the server's next answer must be read whole. The real limit is used: the line is 65 MiB.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('an answer over the line limit', () => {
  it('fails the waiting call at once, and the server answers the next call', async () => {
    const gateway = await GatewayProcess.start(`
defaults:
  idleTimeout: 60
  callTimeout: 30
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env: { FIXTURE_HUGE: "1" }
`);
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    const client: Client = await connect(gateway.url, 'modern');
    cleanups.push(() => client.close());
    const pid = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));

    const began = performance.now();
    await expect(
      client.callTool({ name: 'fixture__huge', arguments: { bytes: 65 * 1024 * 1024 } })
    ).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining('server fixture wrote a line of more than 64 MiB on stdout'),
      data: { reason: 'message_too_large', server: 'fixture' }
    });
    expect(performance.now() - began).toBeLessThan(15_000);

    // Same instance, next answer read whole.
    expect(textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }))).toBe(pid);
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'after' } }))).toBe(
      'after'
    );
  }, 60_000);
});
