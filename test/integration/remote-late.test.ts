import { afterEach, describe, expect, it } from 'vitest';
import { Everything } from '../support/everything-server.js';
import { connect, GatewayProcess, waitUntil } from '../support/gateway-process.js';

// A remote server that is down when the gateway starts, and comes up later: the failed discovery
// is shown with its next try, is tried again, and a reload tries it at once.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ServerView {
  readonly id: string;
  readonly nextDiscovery: string | null;
}

async function nextDiscovery(gateway: GatewayProcess, path: '/healthz' | '/api/servers'): Promise<number> {
  const { servers } = (await (await fetch(new URL(path, gateway.url))).json()) as { servers: ServerView[] };
  const next = servers.find(server => server.id === 'late')!.nextDiscovery;
  return next === null ? NaN : Date.parse(next);
}

describe('a remote server down when the gateway starts', () => {
  it('shows when its discovery is tried again, and is listed at once by a reload once it is up', async () => {
    const late = await Everything.start('streamableHttp');
    await late.kill(); // its port known, nothing listening
    cleanups.push(() => late.kill());
    const gateway = await GatewayProcess.start(`
servers:
  late:
    url: ${late.url.href}
`);
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    const client = await connect(gateway.url, 'modern');
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools).toEqual([]);

    // Scheduled 5 s after the failure, then 10 s after the next: both views show the same time.
    const first = await nextDiscovery(gateway, '/healthz');
    expect(first).toBeGreaterThan(Date.now() - 1_000);
    expect(await nextDiscovery(gateway, '/api/servers')).toBe(first);
    // The timer's try fails too (still down): the next one is later.
    await waitUntil(async () => (await nextDiscovery(gateway, '/healthz')) > first, 15_000);
    const second = await nextDiscovery(gateway, '/healthz');
    expect(second - first).toBeGreaterThanOrEqual(9_000);
    expect(
      gateway.logs.filter(line => line.msg === 'discovery failed' && line.server === 'late')
    ).toHaveLength(2);

    // Up again; a reload that changes nothing lists it well before its timer would.
    await late.restart();
    const reloaded = await fetch(new URL('/api/reload', gateway.url), { method: 'POST' });
    expect(reloaded.status).toBe(200);
    expect(((await reloaded.json()) as { unchanged: string[] }).unchanged).toEqual(['late']);
    await waitUntil(
      async () => (await client.listTools()).tools.some(tool => tool.name === 'late__echo'),
      5_000
    );
    expect(Date.now()).toBeLessThan(second);
    expect(Number.isNaN(await nextDiscovery(gateway, '/healthz'))).toBe(true);
  });
});
