import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ensureFixtureImages,
  managedContainers,
  requireDocker,
  TEST_OWNER
} from '../support/docker-test-setup.js';
import {
  CLI,
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  textOf,
  waitUntil
} from '../support/gateway-process.js';

const available = await requireDocker('hot reload tests');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A local fixture server's entry, with `env` lines (already indented) if any. */
const local = (id: string, env = '') =>
  `  ${id}:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n${env}`;

/**
 * A gateway for `config` that reloads only when asked (the file watch is tested on its own), so
 * each test knows which trigger did what.
 */
async function startGateway(config: string, env: Record<string, string> = {}) {
  const gateway = await GatewayProcess.start(config, {
    env: { MCP_GATEWAY_OWNER: TEST_OWNER, GATEWAY_WATCH_CONFIG: 'false', ...env }
  });
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function clientOf(gateway: GatewayProcess): Promise<Client> {
  const client = await connect(gateway.url, 'legacy');
  cleanups.push(() => client.close());
  return client;
}

const configFile = (gateway: GatewayProcess) => path.join(gateway.dir, 'servers.yaml');

async function api(gateway: GatewayProcess, route: string, method = 'GET') {
  const response = await fetch(new URL(`/api/${route}`, gateway.url), { method });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map(tool => tool.name).sort();

describe.skipIf(!available)('hot reload of servers.yaml', () => {
  let images: Awaited<ReturnType<typeof ensureFixtureImages>>;
  beforeAll(async () => {
    images = await ensureFixtureImages();
  }, 300_000);

  afterAll(async () => {
    expect(await managedContainers()).toEqual([]);
  });

  it('adds, changes and removes servers by difference while a session holds calls in flight', async () => {
    const boxed = `  boxed:\n    image: ${images.fixture}\n`;
    const gateway = await startGateway(`servers:\n${boxed}${local('changing')}${local('leaving')}`);
    await gateway.discovered(60_000);
    const client = await clientOf(gateway);
    let listChanged = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void listChanged++);
    expect(await toolNames(client)).toEqual(expect.arrayContaining(['changing__fail', 'leaving__echo']));
    // The Docker server warm, its container known.
    await client.callTool({ name: 'boxed__echo', arguments: { text: 'warm' } });
    const [container] = await managedContainers('boxed');
    expect(container).toBeDefined();

    // Long calls in flight on the server that changes and the one that goes.
    const changingCall = client.callTool({ name: 'changing__slow', arguments: { ms: 2_500 } });
    const leavingCall = client.callTool({ name: 'leaving__slow', arguments: { ms: 2_500 } });
    await waitUntil(async () => {
      const { servers } = (await api(gateway, 'servers')).body as {
        servers: { id: string; inFlight: number }[];
      };
      return servers.filter(server => server.inFlight > 0).length === 2;
    }, 10_000);

    writeFileSync(
      configFile(gateway),
      `servers:\n${boxed}${local('changing', '    env:\n      FIXTURE_TOOLS: "echo,slow"\n')}${local('arriving')}`
    );
    const reload = await api(gateway, 'reload', 'POST');
    expect(reload.status).toBe(200);
    expect(reload.body).toMatchObject({
      ok: true,
      trigger: 'api',
      added: ['arriving'],
      changed: ['changing'],
      removed: ['leaving'],
      unchanged: ['boxed'],
      restartNeeded: []
    });

    // The calls in flight finish on the servers they began on.
    expect((await changingCall).isError).toBeFalsy();
    expect((await leavingCall).isError).toBeFalsy();
    await waitUntil(() => listChanged > 0, 10_000);
    await waitUntil(async () => (await toolNames(client)).includes('arriving__echo'), 30_000);
    const names = await toolNames(client);
    expect(names).toEqual(expect.arrayContaining(['boxed__echo', 'changing__echo', 'changing__slow']));
    expect(names).not.toContain('changing__fail');
    expect(names.filter(name => name.startsWith('leaving__'))).toEqual([]);
    expect(textOf(await client.callTool({ name: 'arriving__echo', arguments: { text: 'new' } }))).toBe('new');
    await expect(client.callTool({ name: 'leaving__echo', arguments: { text: 'x' } })).rejects.toThrow(
      'Unknown tool: leaving__echo'
    );

    // The unchanged Docker server was left alone: the same container serves it.
    expect(textOf(await client.callTool({ name: 'boxed__echo', arguments: { text: 'still' } }))).toBe(
      'still'
    );
    expect((await managedContainers('boxed')).map(c => c.Id)).toEqual([container!.Id]);
    const { servers } = (await api(gateway, 'servers')).body as { servers: { id: string }[] };
    expect(servers.map(server => server.id)).toEqual(['boxed', 'changing', 'arriving']);
  }, 120_000);

  it('updates a warm Docker server whose description, timeouts and limits alone changed in place: the same container', async () => {
    const boxed = (settings: string) => `servers:\n  boxed:\n    image: ${images.fixture}\n${settings}`;
    const gateway = await startGateway(boxed('    description: Before\n    idleTimeout: 300\n'));
    await gateway.discovered(60_000);
    const client = await clientOf(gateway);
    await client.callTool({ name: 'boxed__echo', arguments: { text: 'warm' } });
    const [container] = await managedContainers('boxed');
    expect(container).toBeDefined();

    writeFileSync(
      configFile(gateway),
      boxed('    description: After\n    idleTimeout: 600\n    callTimeout: 1\n    maxConcurrency: 2\n')
    );
    const reload = await api(gateway, 'reload', 'POST');
    expect(reload.body).toMatchObject({ ok: true, changed: ['boxed'], unchanged: [] });
    const { servers } = (await api(gateway, 'servers')).body as {
      servers: { id: string; description: string; state: string }[];
    };
    expect(servers).toEqual([expect.objectContaining({ id: 'boxed', description: 'After', state: 'ready' })]);
    expect(
      gateway.logs.some(line => line.server === 'boxed' && String(line.msg).includes('applied in place'))
    ).toBe(true);
    // The new callTimeout holds for the next call, on the same container.
    await expect(client.callTool({ name: 'boxed__slow', arguments: { ms: 3_000 } })).rejects.toThrow(
      /did not finish within 1s/
    );
    expect(textOf(await client.callTool({ name: 'boxed__echo', arguments: { text: 'same' } }))).toBe('same');
    expect((await managedContainers('boxed')).map(c => c.Id)).toEqual([container!.Id]);
  }, 120_000);

  it('refuses a broken config whole: problems with file:line:col, everything as it was', async () => {
    const gateway = await startGateway(`servers:\n${local('alpha')}`);
    await gateway.discovered();
    const client = await clientOf(gateway);
    const before = await toolNames(client);
    writeFileSync(
      configFile(gateway),
      `servers:\n${local('alpha')}${local('beta')}  gamma:\n    image: 42\n    command: ["x"]\n    colour: blue\n`
    );
    const reload = await api(gateway, 'reload', 'POST');
    expect(reload.status).toBe(422);
    expect(reload.body.ok).toBe(false);
    const problems = reload.body.problems as string[];
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/servers\.yaml:\d+:\d+: /);
    expect(String((reload.body.error as { message: string }).message)).toContain('the running config stays');
    expect(await toolNames(client)).toEqual(before);
    const { servers } = (await api(gateway, 'servers')).body as { servers: { id: string }[] };
    expect(servers.map(server => server.id)).toEqual(['alpha']);
    expect((await api(gateway, 'reload')).body).toMatchObject({ last: { ok: false, problems } });
    await gateway.waitForLog(line => String(line.msg).startsWith('reload refused'));

    // Reloads asked for at once run one after the other: the config is applied once, none fails.
    writeFileSync(configFile(gateway), `servers:\n${local('alpha')}${local('beta')}`);
    const together = await Promise.all([1, 2, 3].map(() => api(gateway, 'reload', 'POST')));
    expect(together.map(answer => answer.status)).toEqual([200, 200, 200]);
    expect(together.flatMap(answer => answer.body.added as string[])).toEqual(['beta']);

    // A config that removes every server is applied, and says so.
    writeFileSync(configFile(gateway), 'servers: {}\n');
    const emptied = await api(gateway, 'reload', 'POST');
    expect(emptied.body).toMatchObject({ ok: true, removed: ['alpha', 'beta'] });
    expect((emptied.body.warnings as string[]).join()).toContain('lists no servers now');
    await waitUntil(async () => (await toolNames(client)).length === 0, 10_000);
  }, 60_000);

  it('reports settings that need a restart, and reloads on SIGHUP and mcp-gateway reload', async () => {
    const gateway = await startGateway(`servers:\n${local('alpha')}`);
    await gateway.discovered();
    writeFileSync(
      configFile(gateway),
      `gateway:\n  sessionTimeout: 99\nservers:\n${local('alpha')}${local('beta')}`
    );
    const events = await eventsOf(gateway);
    gateway.child.kill('SIGHUP');
    expect(await events.next('config_reloaded')).toMatchObject({
      ok: true,
      trigger: 'signal',
      added: ['beta'],
      removed: []
    });
    events.close();
    const reloaded = await gateway.waitForLog(
      line => line.msg === 'config reloaded' && line.trigger === 'signal'
    );
    expect(reloaded).toMatchObject({ added: ['beta'] });
    await gateway.waitForLog(line => line.setting === 'gateway.sessionTimeout');
    expect(gateway.child.exitCode).toBeNull();
    expect((await api(gateway, 'reload')).body).toMatchObject({
      last: { ok: true, restartNeeded: ['gateway.sessionTimeout'] }
    });

    writeFileSync(configFile(gateway), `servers:\n${local('beta')}`);
    const cli = await runCli(['reload', '--config', configFile(gateway), '--port', gateway.url.port]);
    expect(cli).toMatchObject({ code: 0 });
    expect(cli.stderr).toContain('removed alpha');
    const { servers } = (await api(gateway, 'servers')).body as { servers: { id: string }[] };
    expect(servers.map(server => server.id)).toEqual(['beta']);

    writeFileSync(configFile(gateway), 'servers:\n  bad: {}\n');
    const refused = await runCli(['reload', '--config', configFile(gateway), '--port', gateway.url.port]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/servers\.yaml:\d+:\d+: /);
  }, 60_000);

  it('follows the file: an edit saved by renaming a new file over it is applied', async () => {
    const gateway = await startGateway(`servers:\n${local('alpha')}`, { GATEWAY_WATCH_CONFIG: 'true' });
    await gateway.discovered();
    const next = path.join(gateway.dir, 'servers.yaml.new');
    writeFileSync(next, `servers:\n${local('alpha')}${local('beta')}`);
    renameSync(next, configFile(gateway));
    const reloaded = await gateway.waitForLog(
      line => line.msg === 'config reloaded' && line.trigger === 'file'
    );
    expect(reloaded).toMatchObject({ added: ['beta'] });
    // A second edit, in place.
    writeFileSync(configFile(gateway), `servers:\n${local('beta')}`);
    await gateway.waitForLog(
      line => line.msg === 'config reloaded' && Array.isArray(line.removed) && line.removed.includes('alpha')
    );
  }, 60_000);
});

/** The gateway's `/api/events` stream, once it is connected: read until an event of a given type. */
async function eventsOf(gateway: GatewayProcess) {
  const controller = new AbortController();
  const response = await fetch(new URL('/api/events', gateway.url), { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const readUntil = async (pattern: RegExp) => {
    for (;;) {
      const match = pattern.exec(buffered);
      if (match) return match;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event stream ended before ${pattern}`);
      buffered += value;
    }
  };
  await readUntil(/: connected\n/);
  return {
    async next(type: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
      const timer = setTimeout(
        () => controller.abort(new Error(`no ${type} event within ${timeoutMs} ms`)),
        timeoutMs
      );
      try {
        const match = await readUntil(new RegExp(`event: ${type}\\ndata: (.*)\\n`));
        return JSON.parse(match[1]!) as Record<string, unknown>;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => controller.abort()
  };
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('exit', code => resolve({ code, stderr }));
  });
}
