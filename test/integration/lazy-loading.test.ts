import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureConfig } from '../support/fixture-config.js';
import { connect, GatewayProcess, ROOT, waitUntil } from '../support/gateway-process.js';

/**
 * A gateway loads what its configuration uses, and the rest only when it is first used (issue 16,
 * item 3: lighter at rest). Which npm packages the process loaded is recorded by a preloaded hook.
 */

const HOOK = path.join(ROOT, 'test', 'support', 'loaded-packages.mjs');
/** Packages a gateway needs only for some configurations or clients. */
const ON_DEMAND = ['dockerode', 'undici', '@modelcontextprotocol/server-legacy', 'oidc-provider', 'jose'];
/** Packages dockerode loads for what the gateway never or rarely asks of it. */
const DOCKERODE_ON_DEMAND = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'ssh2'];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts a gateway for `config` that records the packages it loads; `loaded()` reads them. */
async function start(config: string): Promise<{ gateway: GatewayProcess; loaded: () => string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-loaded-'));
  cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const file = path.join(dir, 'packages.txt');
  const gateway = await GatewayProcess.start(config, {
    env: { NODE_OPTIONS: `--import=${HOOK}`, LOADED_PACKAGES_FILE: file }
  });
  cleanups.push(() => gateway.dispose());
  const loaded = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  return { gateway, loaded };
}

describe('lighter at rest', () => {
  it('a local-process config without auth loads none of the on-demand packages; /sse loads the legacy SDK', async () => {
    const { gateway, loaded } = await start(fixtureConfig());
    await gateway.discovered();
    expect(loaded()).toContain('@modelcontextprotocol/server'); // the hook records
    expect(loaded().filter(name => ON_DEMAND.includes(name))).toEqual([]);

    const stream = new AbortController();
    const response = await fetch(new URL('/sse', gateway.url), {
      headers: { accept: 'text/event-stream' },
      signal: stream.signal
    });
    expect(response.status).toBe(200);
    stream.abort();
    expect(loaded()).toContain('@modelcontextprotocol/server-legacy');
  });

  it('a Docker server loads dockerode (without its BuildKit and SSH libraries), and a remote server undici', async () => {
    const { gateway, loaded } = await start(`
servers:
  boxed:
    image: mcp-gateway-test/absent-image:none
  far:
    url: http://127.0.0.1:9/mcp
`);
    await gateway.discovered();
    await waitUntil(() => loaded().includes('undici'), 10_000);
    expect(loaded()).toEqual(expect.arrayContaining(['dockerode', 'undici']));
    // dockerode's BuildKit sessions (gRPC, protobuf) and SSH connections: loaded only when used.
    expect(loaded().filter(name => DOCKERODE_ON_DEMAND.includes(name))).toEqual([]);
  });

  it('gives back the young generation start-up grew once startup discovery has settled', async () => {
    const { gateway } = await start(fixtureConfig());
    await gateway.discovered();
    // Loading the modules grows it to two 16 MB semi-spaces; the smallest is 1 or 2 MB.
    const newSpace = async () => {
      const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
      const line = /^mcp_gateway_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
      if (!line?.[1]) throw new Error(`no new-space size in /metrics:\n${metrics}`);
      return Number(line[1]);
    };
    const smallEnough = async () => (await newSpace()) <= 8 * 1024 * 1024;
    await waitUntil(smallEnough, 15_000).catch(() => undefined);
    expect(await newSpace()).toBeLessThanOrEqual(8 * 1024 * 1024);
  });

  it('gives back what a burst of calls grew once the requests stop', async () => {
    const { gateway } = await start(fixtureConfig('limits:', '  requestsPerMinute: 1000000'));
    await gateway.discovered();
    await gateway.waitForLog(line => line.msg === 'memory reduced after startup', 15_000);
    // Enough calls for V8 to grow the young generation again and RSS well past the margin.
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(gateway.url, 'modern')));
    cleanups.push(() => Promise.all(clients.map(client => client.close())));
    let next = 0;
    await Promise.all(
      clients.map(async client => {
        while (next++ < 3_000) {
          await client.callTool({ name: 'fixture__echo', arguments: { text: 'x'.repeat(2_000) } });
        }
      })
    );
    const given = await gateway.waitForLog(
      line => line.msg === 'memory given back after a burst of requests',
      10_000
    );
    expect(Number(given.after)).toBeLessThan(Number(given.before));
    // Read once the collection is over (a request during the quiet spell would only delay it).
    const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
    const line = /^mcp_gateway_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
    expect(Number(line?.[1])).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
