import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

/** A config with one fixture server whose processes carry `tag` on their command line. */
function fixtureConfig(tag: string, extra = '', defaults = 'idleTimeout: 2\n  callTimeout: 30'): string {
  return `
defaults:
  ${defaults}
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
${extra}`;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startGateway(config: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(config, { env });
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function clientOf(gateway: GatewayProcess, era: 'legacy' | 'modern' = 'legacy'): Promise<Client> {
  const client = await connect(gateway.url, era);
  cleanups.push(() => client.close());
  return client;
}

describe('server lifecycle, seen from outside', () => {
  it('starts nothing before the first call, one instance for 20 concurrent first calls from 5 sessions, none after idle', async () => {
    const tag = marker();
    const gateway = await startGateway(fixtureConfig(tag));
    await gateway.discovered();
    await waitUntil(() => processesWith(tag).length === 0);

    const clients = await Promise.all(
      Array.from({ length: 5 }, (_, index) => clientOf(gateway, index % 2 === 0 ? 'legacy' : 'modern'))
    );
    const { tools } = await clients[0]!.listTools();
    expect(tools.map(tool => tool.name)).toContain('fixture__pid');
    expect(processesWith(tag)).toHaveLength(0); // tools/list is answered from the catalog

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        clients[index % 5]!.callTool({ name: 'fixture__pid', arguments: {} })
      )
    );
    const pids = new Set(results.map(result => textOf(result)));
    expect(pids.size).toBe(1);
    expect(processesWith(tag)).toHaveLength(1);

    const warm = await clients[1]!.callTool({ name: 'fixture__pid', arguments: {} });
    expect(pids.has(textOf(warm))).toBe(true);

    await waitUntil(() => processesWith(tag).length === 0, 10_000);
    // The state turns `stopped` once the stop has fully finished, a moment after the process ends.
    await waitUntil(async () => (await gateway.health()).servers[0]?.state === 'stopped', 5_000);
    // Its stderr is read apart from the HTTP answers, so the line may arrive a moment after them.
    await gateway.waitForLog(line => line.msg === 'stopping server' && line.reason === 'idle', 5_000);
  });

  it('never stops a server for idleness while a call is in flight', async () => {
    const tag = marker();
    const gateway = await startGateway(fixtureConfig(tag, '', 'idleTimeout: 1'));
    const client = await clientOf(gateway);
    const result = await client.callTool({ name: 'fixture__slow', arguments: { ms: 3_000 } });
    expect(textOf(result)).toBe('slept 3000');
    expect(gateway.logs.some(line => line.reason === 'idle' && line.msg === 'stopping server')).toBe(false);
    await waitUntil(() => processesWith(tag).length === 0, 5_000);
  });

  it('fails in-flight calls within a second when the server dies, and starts a fresh one next', async () => {
    const tag = marker();
    const gateway = await startGateway(fixtureConfig(tag));
    const client = await clientOf(gateway);
    const first = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));

    const slow = client.callTool({ name: 'fixture__slow', arguments: { ms: 20_000 } });
    slow.catch(() => undefined); // asserted below, after the crash call
    const began = Date.now();
    const crash = client.callTool({ name: 'fixture__crash', arguments: {} });
    await expect(crash).rejects.toMatchObject({ message: expect.stringContaining('fixture') });
    await expect(slow).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining('server fixture exited'),
      data: { reason: 'server_exited', server: 'fixture' }
    });
    expect(Date.now() - began).toBeLessThan(1_500); // crash tool exits after 50 ms

    const second = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));
    expect(second).not.toBe(first);
    expect(processesWith(tag)).toHaveLength(1);
  });

  it('sends a call that found the server deaf (its stdin closed: EPIPE) again to a fresh one', async () => {
    const tag = marker();
    const gateway = await startGateway(fixtureConfig(tag, '    env: { FIXTURE_CLOSE_STDIN: "1" }'));
    const client = await clientOf(gateway);
    const first = textOf(await client.callTool({ name: 'fixture__close_stdin', arguments: {} }));
    // The server lives on with its stdin closed: the next write to it fails with EPIPE.
    await waitUntil(async () => {
      const health = await gateway.health();
      return health.servers.some(server => server.state === 'ready');
    });
    await new Promise(resolve => setTimeout(resolve, 200));

    const result = await client.callTool({ name: 'fixture__pid', arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).not.toBe(first);
    await waitUntil(() => processesWith(tag).length === 1);
    expect(processesWith(tag)).not.toContain(Number(first));
  });

  it('fails a call past callTimeout with a clear error and cancels it upstream', async () => {
    const tag = marker();
    const markers = mkdtempSync(path.join(tmpdir(), 'markers-'));
    cleanups.push(() => Promise.resolve(rmSync(markers, { recursive: true, force: true })));
    const gateway = await startGateway(
      fixtureConfig(tag, `    callTimeout: 1\n    env: { FIXTURE_MARKER_DIR: "${markers}" }\n`)
    );
    const client = await clientOf(gateway);
    await expect(
      client.callTool({ name: 'fixture__slow', arguments: { ms: 10_000, tag: 'timeout' } })
    ).rejects.toMatchObject({ code: -32001, message: expect.stringContaining('did not finish within 1s') });
    await waitUntil(() => existsSync(path.join(markers, 'cancelled-timeout')), 5_000);
    const line = await gateway.waitForLog(l => l.msg === 'tools/call' && l.outcome === 'timeout');
    expect(line).toMatchObject({ server: 'fixture', tool: 'fixture__slow' });
  });

  it.each(['legacy', 'modern'] as const)('forwards a %s client’s cancellation to the server', async era => {
    const tag = marker();
    const markers = mkdtempSync(path.join(tmpdir(), 'markers-'));
    cleanups.push(() => Promise.resolve(rmSync(markers, { recursive: true, force: true })));
    // Only the server's own `env` reaches it (plus PATH, HOME and the like), so the marker
    // directory goes through the config as a ${'$'}{VAR} reference.
    const gateway = await startGateway(
      fixtureConfig(tag, '    env: { FIXTURE_MARKER_DIR: "${MARKERS}" }\n'),
      {
        MARKERS: markers
      }
    );
    const client = await clientOf(gateway, era);
    await client.callTool({ name: 'fixture__pid', arguments: {} }); // warm
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'fixture__slow', arguments: { ms: 10_000, tag: era } },
      { signal: controller.signal }
    );
    call.catch(() => undefined);
    // Cancelled before it reached the server, the call would leave no marker to find below.
    await waitUntil(() => existsSync(path.join(markers, `started-${era}`)), 10_000);
    controller.abort();
    await expect(call).rejects.toBeDefined();
    await waitUntil(() => existsSync(path.join(markers, `cancelled-${era}`)), 5_000);
    await gateway.waitForLog(l => l.msg === 'tools/call' && l.outcome === 'cancelled', 5_000);
  });

  it('marks a server failed after three failed starts and then fails fast with the last reason', async () => {
    const gateway = await startGateway(`
servers:
  broken:
    command: ["/nonexistent/mcp-server"]
`);
    const client = await clientOf(gateway);
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(client.callTool({ name: 'broken__anything', arguments: {} })).rejects.toMatchObject({
        message: expect.stringContaining('cannot run /nonexistent/mcp-server')
      });
    }
    const began = Date.now();
    await expect(client.callTool({ name: 'broken__anything', arguments: {} })).rejects.toMatchObject({
      message: expect.stringMatching(/failed to start 3 times in a minute.*cannot run/)
    });
    // No fourth start: the refusal is immediate, the bound only wide enough for a loaded machine.
    expect(Date.now() - began).toBeLessThan(2_000);
    const health = await gateway.health();
    expect(health.servers.find(server => server.id === 'broken')?.state).toBe('failed');
  });

  it('on SIGTERM lets an in-flight call finish, stops every server and exits 0', async () => {
    const tag = marker();
    const markers = mkdtempSync(path.join(tmpdir(), 'markers-'));
    cleanups.push(() => Promise.resolve(rmSync(markers, { recursive: true, force: true })));
    const gateway = await startGateway(
      fixtureConfig(tag, `    env: { FIXTURE_MARKER_DIR: "${markers}" }\n`, 'idleTimeout: 0')
    );
    const client = await clientOf(gateway);
    await client.callTool({ name: 'fixture__pid', arguments: {} });
    expect(processesWith(tag)).toHaveLength(1);
    const slow = client.callTool({ name: 'fixture__slow', arguments: { ms: 1_000, tag: 'drain' } });
    // In flight at the server when SIGTERM comes, not still on its way (which would be refused).
    await waitUntil(() => existsSync(path.join(markers, 'started-drain')), 10_000);
    const exit = gateway.stop('SIGTERM');
    await expect(slow).resolves.toMatchObject({ content: [{ type: 'text', text: 'slept 1000' }] });
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(processesWith(tag)).toHaveLength(0);
  });

  it('remembers the catalog and each server’s era across restarts', async () => {
    const tag = marker();
    const stateDir = mkdtempSync(path.join(tmpdir(), 'state-'));
    cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })));
    const first = await GatewayProcess.start(fixtureConfig(tag), { stateDir });
    cleanups.push(() => first.dispose());
    await first.waitForLog(line => line.msg === 'discovery finished');
    expect(await first.stop()).toMatchObject({ code: 0 });
    await first.dispose();

    const second = await startGatewayWithState(fixtureConfig(tag), stateDir);
    const client = await clientOf(second);
    const { tools } = await client.listTools();
    expect(tools.map(tool => tool.name)).toContain('fixture__echo');
    expect(second.logs.some(line => line.msg === 'discovery finished')).toBe(false);
    expect(processesWith(tag)).toHaveLength(0);
    await client.callTool({ name: 'fixture__pid', arguments: {} });
    const ready = await second.waitForLog(line => line.msg === 'server ready');
    expect(ready.era).toBe('modern');
  });
});

async function startGatewayWithState(config: string, stateDir: string): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(config, { stateDir });
  cleanups.push(() => gateway.dispose());
  return gateway;
}
