import { createServer, connect as netConnect, type Server } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  docker,
  ensureFixtureImages,
  managedContainers,
  requireDocker,
  TEST_OWNER,
  runningContainers
} from '../support/docker-test-setup.js';
import {
  connect,
  EVERYTHING_SERVER,
  FIXTURE_SERVER,
  GatewayProcess,
  ROOT,
  textOf,
  waitUntil
} from '../support/gateway-process.js';

const available = await requireDocker('Docker runtime tests');
const ALLOCATING_SERVER = path.join(ROOT, 'test', 'fixtures', 'allocating-server.mjs');

interface EngineEvent {
  Action: string;
  Actor: { Attributes: Record<string, string> };
  timeNano: number;
}

/** The engine's events for one container between `since` (seconds) and now. */
async function containerEvents(id: string, since: number): Promise<EngineEvent[]> {
  const stream = await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { container: [id] }
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text
    .split('\n')
    .filter(line => line.trim())
    .map(line => JSON.parse(line) as EngineEvent);
}
let images: Awaited<ReturnType<typeof ensureFixtureImages>>;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startGateway(
  config: string,
  options: { env?: Record<string, string>; stateDir?: string } = {}
) {
  const gateway = await GatewayProcess.start(config, {
    ...options,
    env: { MCP_GATEWAY_OWNER: TEST_OWNER, ...options.env }
  });
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function clientOf(gateway: GatewayProcess, era: 'legacy' | 'modern' = 'legacy'): Promise<Client> {
  const client = await connect(gateway.url, era);
  cleanups.push(() => client.close());
  return client;
}

describe.skipIf(!available)('Docker runtime', () => {
  beforeAll(async () => {
    images = await ensureFixtureImages();
  }, 300_000);

  afterAll(async () => {
    // Nothing a test started may outlive the suite.
    expect(await managedContainers()).toEqual([]);
  });

  it('starts one container for 20 concurrent first calls, reuses it warm, and removes it when idle', async () => {
    const gateway = await startGateway(`
defaults:
  idleTimeout: 2
servers:
  boxed:
    image: ${images.fixture}
`);
    await gateway.discovered(60_000);
    await waitUntil(async () => (await managedContainers('boxed')).length === 0, 10_000);

    const clients = await Promise.all(
      Array.from({ length: 5 }, (_, index) => clientOf(gateway, index % 2 === 0 ? 'legacy' : 'modern'))
    );
    const { tools } = await clients[0]!.listTools();
    expect(tools.map(tool => tool.name)).toContain('boxed__echo');
    expect(await managedContainers('boxed')).toHaveLength(0);

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        clients[index % 5]!.callTool({ name: 'boxed__echo', arguments: { text: `call ${index}` } })
      )
    );
    expect(results.map(result => textOf(result))).toEqual(Array.from({ length: 20 }, (_, i) => `call ${i}`));
    const running = await managedContainers('boxed');
    expect(running).toHaveLength(1);

    await clients[3]!.callTool({ name: 'boxed__echo', arguments: { text: 'warm' } });
    expect((await managedContainers('boxed')).map(c => c.Id)).toEqual([running[0]!.Id]);
    const cold = await gateway.waitForLog(line => line.msg === 'tools/call' && line.cold === true);
    expect(cold).toMatchObject({ server: 'boxed', outcome: 'ok', startMs: expect.any(Number) });

    await waitUntil(async () => (await managedContainers('boxed')).length === 0, 15_000);
  });

  it('confines containers with safe defaults, and applies per-server overrides', async () => {
    const gateway = await startGateway(`
defaults:
  idleTimeout: 0
servers:
  strict:
    image: ${images.fixture}
  relaxed:
    image: ${images.fixture}
    network: host
    memory: 256m
    cpus: 0.5
    pids: 64
    readOnly: true
    user: "1000:1000"
    volumes: ["${tmpdir()}:/host-tmp", "${tmpdir()}:/host-rw:rw"]
`);
    const client = await clientOf(gateway);
    await client.callTool({ name: 'strict__echo', arguments: { text: 'a' } });
    await client.callTool({ name: 'relaxed__echo', arguments: { text: 'b' } });

    const [strict] = await managedContainers('strict');
    const strictInfo = await docker.getContainer(strict!.Id).inspect();
    expect(strictInfo.HostConfig.NetworkMode).toBe('none');
    expect(strictInfo.HostConfig.CapDrop).toEqual(['ALL']);
    expect(strictInfo.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(strictInfo.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(strictInfo.HostConfig.NanoCpus).toBe(1e9);
    expect(strictInfo.HostConfig.PidsLimit).toBe(256);
    expect(strictInfo.HostConfig.ReadonlyRootfs).toBe(false);
    expect(strictInfo.Config.Tty).toBe(false);
    expect(strictInfo.Config.OpenStdin).toBe(true);
    expect(strictInfo.Config.Labels).toMatchObject({
      'io.mcp-gateway.managed': 'true',
      'io.mcp-gateway.server': 'strict'
    });

    const [relaxed] = await managedContainers('relaxed');
    const relaxedInfo = await docker.getContainer(relaxed!.Id).inspect();
    expect(relaxedInfo.HostConfig.NetworkMode).toBe('host');
    expect(relaxedInfo.HostConfig.CapDrop).toEqual(['ALL']);
    expect(relaxedInfo.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(relaxedInfo.HostConfig.NanoCpus).toBe(5e8);
    expect(relaxedInfo.HostConfig.PidsLimit).toBe(64);
    expect(relaxedInfo.HostConfig.ReadonlyRootfs).toBe(true);
    expect(relaxedInfo.Config.User).toBe('1000:1000');
    expect(relaxedInfo.HostConfig.Binds).toEqual([`${tmpdir()}:/host-tmp:ro`, `${tmpdir()}:/host-rw:rw`]);

    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await managedContainers()).toEqual([]);
  });

  it('fails the in-flight call within seconds when its container is killed, then starts a fresh one', async () => {
    // The slow call says it started by a file in a directory the container shares; the container's
    // root has no capabilities, so the directory is open to every user.
    const markers = mkdtempSync(path.join(tmpdir(), 'markers-'));
    chmodSync(markers, 0o777);
    cleanups.push(() => Promise.resolve(rmSync(markers, { recursive: true, force: true })));
    const gateway = await startGateway(`
servers:
  boxed:
    image: ${images.fixture}
    volumes: ["${markers}:/markers:rw"]
    env: { FIXTURE_MARKER_DIR: /markers }
`);
    const client = await clientOf(gateway);
    await client.callTool({ name: 'boxed__echo', arguments: { text: 'warm' } });
    const [first] = await runningContainers('boxed');
    expect(first).toBeDefined();

    const slow = client.callTool({ name: 'boxed__slow', arguments: { ms: 30_000, tag: 'killed' } });
    slow.catch(() => undefined);
    await waitUntil(() => existsSync(path.join(markers, 'started-killed')), 10_000);
    await docker.getContainer(first!.Id).kill();
    // Counted from when the engine has done the kill: the claim is that the gateway notices
    // quickly, not that the engine kills quickly. A gateway that waited for the call's own end
    // (30 s) or its callTimeout (120 s) would miss the bound by far.
    const killedAt = Date.now();
    await expect(slow).rejects.toMatchObject({ message: expect.stringContaining('server boxed exited') });
    expect(Date.now() - killedAt).toBeLessThan(3_000);

    const again = await client.callTool({ name: 'boxed__echo', arguments: { text: 'fresh' } });
    expect(textOf(again)).toBe('fresh');
    const now = await runningContainers('boxed');
    expect(now).toHaveLength(1);
    expect(now[0]!.Id).not.toBe(first!.Id);
    await waitUntil(
      async () => (await docker.listContainers({ all: true, filters: { id: [first!.Id] } })).length === 0
    );
  });

  it('stops a Node server container with SIGTERM well within the grace, never SIGKILL (an init process)', async () => {
    const gateway = await startGateway(`
servers:
  stopper:
    image: ${images.fixture}
`);
    const client = await clientOf(gateway);
    await client.callTool({ name: 'stopper__echo', arguments: { text: 'up' } });
    const [container] = await runningContainers('stopper');
    expect(container).toBeDefined();
    const since = Math.floor(Date.now() / 1000) - 1;
    expect(await gateway.stop('SIGTERM')).toMatchObject({ code: 0 });

    const events = await containerEvents(container!.Id, since);
    const kills = events.filter(event => event.Action === 'kill');
    const died = events.find(event => event.Action === 'die');
    expect(kills.map(event => event.Actor.Attributes.signal)).toEqual(['15']);
    expect(died).toBeDefined();
    // The grace is 3 s; a server that heeds SIGTERM is gone well within it (even on a loaded
    // machine), where one that ignored it would die only at the SIGKILL, 3 s after.
    expect((died!.timeNano - kills[0]!.timeNano) / 1e6).toBeLessThan(2_500);
  });

  it('says a container that ran out of memory did, and names the memory key', async () => {
    const gateway = await startGateway(`
servers:
  hog:
    image: ${images.fixture}
    command: [node, /app/allocating-server.mjs]
    volumes: ['${ALLOCATING_SERVER}:/app/allocating-server.mjs']
    memory: 96m
`);
    const client = await clientOf(gateway);
    const call = client.callTool({ name: 'hog__allocate', arguments: { mb: 1024 } });
    await expect(call).rejects.toMatchObject({
      message: expect.stringMatching(
        /server hog exited \(out of memory: .*96 MiB.*`memory` for hog in servers\.yaml/
      )
    });
    await waitUntil(async () => (await managedContainers('hog')).length === 0);
  });

  it('removes leftover containers of its own at startup', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'state-'));
    cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })));
    const leftover = await docker.createContainer({
      Image: images.fixture,
      Labels: {
        'io.mcp-gateway.managed': 'true',
        'io.mcp-gateway.server': 'boxed',
        'io.mcp-gateway.owner': TEST_OWNER
      },
      HostConfig: { NetworkMode: 'none' }
    });
    cleanups.push(() => leftover.remove({ force: true }).catch(() => undefined));
    expect(await managedContainers('boxed')).toHaveLength(1);

    const gateway = await startGateway(`servers:\n  boxed:\n    image: ${images.fixture}\n`, { stateDir });
    await gateway.waitForLog(line => line.msg === 'removed a leftover container');
    expect(await docker.listContainers({ all: true, filters: { id: [leftover.id] } })).toEqual([]);
  });

  it('names the image when it cannot be had, and keeps serving the other servers', async () => {
    const gateway = await startGateway(`
servers:
  ghost:
    image: mcp-gateway-test/does-not-exist:latest
  boxed:
    image: ${images.fixture}
  local:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`);
    const client = await clientOf(gateway);
    await expect(client.callTool({ name: 'ghost__anything', arguments: {} })).rejects.toMatchObject({
      message: expect.stringContaining('image mcp-gateway-test/does-not-exist:latest could not be pulled')
    });
    expect(textOf(await client.callTool({ name: 'boxed__echo', arguments: { text: 'ok' } }))).toBe('ok');
    expect(textOf(await client.callTool({ name: 'local__echo', arguments: { text: 'ok' } }))).toBe('ok');
    expect(await managedContainers('ghost')).toHaveLength(0);
  });

  it('on a first run with images that cannot be pulled, reports them and serves what works', async () => {
    const gateway = await startGateway(`
servers:
  time:
    description: Current time
    image: mcp-gateway-test/not-here-time:latest
  fetch:
    description: Fetches a URL
    image: mcp-gateway-test/not-here-fetch:latest
  everything:
    description: The MCP reference server, run as a local process
    command: ["${process.execPath}", "${EVERYTHING_SERVER}"]
`);
    await gateway.discovered();
    const unavailable = [
      {
        server: 'time',
        reason: expect.stringMatching(
          /^server time: image mcp-gateway-test\/not-here-time:latest could not be pulled: .*enabled: false/
        )
      },
      {
        server: 'fetch',
        reason: expect.stringContaining('image mcp-gateway-test/not-here-fetch:latest could not be pulled')
      }
    ];
    expect(await gateway.health()).toMatchObject({ status: 'degraded', unavailable });
    const ready = await fetch(new URL('/readyz', gateway.url));
    expect(ready.status).toBe(200); // the servers that work are served
    expect(await ready.json()).toMatchObject({ ready: true, unavailable });

    const client = await clientOf(gateway);
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toContain('- everything: The MCP reference server');
    expect(instructions).not.toMatch(/- (time|fetch)/);
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.map(tool => tool.name)).toContain('everything__echo');
    const echoed = await client.callTool({ name: 'everything__echo', arguments: { message: 'first run' } });
    expect(textOf(echoed)).toContain('first run');
  });

  it('uses an image at the first call after it appears on the engine, however many pulls failed before', async () => {
    const tag = { repo: 'mcp-gateway-test/arrives-later', tag: `t${process.pid}-${Date.now()}` };
    const image = `${tag.repo}:${tag.tag}`;
    cleanups.push(() =>
      docker
        .getImage(image)
        .remove({ noprune: true })
        .catch(() => undefined)
    );
    const gateway = await startGateway(`servers:\n  later:\n    image: ${image}\n`);
    await gateway.discovered(60_000); // discovery's pull fails: the first of three
    const client = await clientOf(gateway);
    for (let i = 0; i < 2; i++) {
      await expect(client.callTool({ name: 'later__echo', arguments: { text: 'x' } })).rejects.toMatchObject({
        message: expect.stringContaining(`image ${image} could not be pulled`)
      });
    }
    expect(await gateway.health()).toMatchObject({
      status: 'degraded',
      unavailable: [{ server: 'later', reason: expect.stringContaining(`docker pull ${image}`) }]
    });

    // The user pulls (here: tags) the image on the engine, as the README says to.
    await docker.getImage(images.fixture).tag(tag);
    // /healthz answers from what is known and checks for the image in the background: polled.
    await expect
      .poll(() => gateway.health(), { timeout: 10_000 })
      .toMatchObject({ status: 'ok', unavailable: [] });
    const result = await client.callTool({ name: 'later__echo', arguments: { text: 'arrived' } });
    expect(textOf(result)).toBe('arrived');
  });

  it('rediscovers a server when its image changes under the same tag', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'state-'));
    const tag = { repo: 'mcp-gateway-test/retagged', tag: 'latest' };
    cleanups.push(async () => {
      rmSync(stateDir, { recursive: true, force: true });
      await docker
        .getImage(`${tag.repo}:${tag.tag}`)
        .remove({ noprune: true })
        .catch(() => undefined);
    });
    const config = `servers:\n  swap:\n    image: ${tag.repo}:${tag.tag}\n`;
    await docker.getImage(images.fixture).tag(tag);
    const first = await GatewayProcess.start(config, { stateDir, env: { MCP_GATEWAY_OWNER: TEST_OWNER } });
    cleanups.push(() => first.dispose());
    await first.discovered(60_000);
    const before = await connect(first.url, 'legacy');
    expect((await before.listTools()).tools.map(t => t.name)).toContain('swap__pid');
    await before.close();
    await first.dispose();

    await docker.getImage(images.everything).tag(tag);
    const second = await startGateway(config, { stateDir });
    await second.discovered(60_000);
    // Its stderr is read apart from the HTTP answers: the line may come a moment after /healthz.
    await second.waitForLog(line => line.msg === 'discovery finished', 10_000);
    const after = await clientOf(second);
    const names = (await after.listTools()).tools.map(t => t.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names).not.toContain('swap__pid');
    // Its echo is not the one approved (the fixture's): quarantined (Pinned definitions).
    expect(names).not.toContain('swap__echo');
    const held = (await (await fetch(new URL('/api/quarantine', second.url))).json()) as { items: unknown[] };
    expect(held.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'tool', name: 'echo', reason: 'changed' })])
    );
  });

  it('runs the third-party everything server in a container', async () => {
    const gateway = await startGateway(`servers:\n  everything:\n    image: ${images.everything}\n`);
    const client = await clientOf(gateway, 'modern');
    const { tools } = await client.listTools();
    expect(tools.map(tool => tool.name)).toContain('everything__echo');
    const result = await client.callTool({
      name: 'everything__echo',
      arguments: { message: 'from a container' }
    });
    expect(textOf(result)).toBe('Echo: from a container');
  });

  it('asks the engine when a reload adds the first Docker server: /healthz says what it found at once', async () => {
    const socketDir = mkdtempSync(path.join(tmpdir(), 'engine-'));
    cleanups.push(() => Promise.resolve(rmSync(socketDir, { recursive: true, force: true })));
    const local = `  local:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`;
    const gateway = await startGateway(`servers:\n${local}`, {
      env: { DOCKER_HOST: `unix://${path.join(socketDir, 'docker.sock')}`, GATEWAY_WATCH_CONFIG: 'false' }
    });
    expect((await gateway.health()).docker).toBeUndefined(); // no Docker server, no engine asked
    writeFileSync(
      path.join(gateway.dir, 'servers.yaml'),
      `servers:\n${local}  boxed:\n    image: ${images.fixture}\n`
    );
    const reloaded = await fetch(new URL('/api/reload', gateway.url), { method: 'POST' });
    expect(await reloaded.json()).toMatchObject({ ok: true, added: ['boxed'] });
    // Warned without anyone asking /healthz first, and the first /healthz after it is true.
    await gateway.waitForLog(line => line.msg?.includes('Docker engine is unreachable') === true);
    expect(await gateway.health()).toMatchObject({ status: 'degraded', docker: { reachable: false } });
  });

  it('reports an unreachable engine, fails Docker calls at once, serves local ones, and recovers', async () => {
    const socketDir = mkdtempSync(path.join(tmpdir(), 'engine-'));
    const socket = path.join(socketDir, 'docker.sock');
    cleanups.push(() => Promise.resolve(rmSync(socketDir, { recursive: true, force: true })));
    const gateway = await startGateway(
      `
servers:
  boxed:
    description: Runs in a container
    image: ${images.fixture}
  local:
    description: Runs as a process
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`,
      { env: { DOCKER_HOST: `unix://${socket}` } }
    );
    // The Docker server is reported unavailable, with the engine's error and what to do, and left
    // out of the instructions; the local one is served.
    const unavailable = [
      {
        server: 'boxed',
        reason: expect.stringMatching(
          /^server boxed: the Docker engine is unreachable \(.*docker\.sock.*\); start it, or check DOCKER_HOST$/
        )
      }
    ];
    const health = await gateway.health();
    expect(health).toMatchObject({ status: 'degraded', docker: { reachable: false }, unavailable });
    const ready = await fetch(new URL('/readyz', gateway.url));
    expect(await ready.json()).toMatchObject({ ready: false, unavailable });
    const client = await clientOf(gateway);
    expect(client.getInstructions()).toContain('- local: Runs as a process');
    expect(client.getInstructions()).not.toContain('- boxed');
    const began = Date.now();
    await expect(client.callTool({ name: 'boxed__echo', arguments: { text: 'x' } })).rejects.toMatchObject({
      message: expect.stringContaining('the Docker engine is unreachable')
    });
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(textOf(await client.callTool({ name: 'local__echo', arguments: { text: 'local' } }))).toBe(
      'local'
    );

    // The engine "comes back": a proxy to the real engine appears at the configured socket.
    const proxy: Server = createServer(downstream => {
      const upstream = netConnect('/var/run/docker.sock');
      downstream.pipe(upstream).pipe(downstream);
      upstream.on('error', () => downstream.destroy());
      downstream.on('error', () => upstream.destroy());
    });
    await new Promise<void>(resolve => proxy.listen(socket, resolve));
    cleanups.push(() => new Promise(resolve => proxy.close(resolve)));

    // /healthz answers from what is known and pings the engine in the background: polled.
    await expect
      .poll(() => gateway.health(), { timeout: 10_000 })
      .toMatchObject({
        status: 'ok',
        docker: { reachable: true },
        unavailable: []
      });
    expect(await (await fetch(new URL('/readyz', gateway.url))).json()).toMatchObject({
      ready: true,
      unavailable: []
    });
    expect((await clientOf(gateway)).getInstructions()).toContain('- boxed: Runs in a container');
    const result = await client.callTool({ name: 'boxed__echo', arguments: { text: 'back' } });
    expect(textOf(result)).toBe('back');
    expect(await gateway.stop('SIGTERM')).toMatchObject({ code: 0 });
    expect(await managedContainers('boxed')).toHaveLength(0);
  });
});
