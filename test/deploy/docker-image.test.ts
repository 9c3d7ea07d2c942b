// The project's Dockerfile, built here on a locally made stand-in for node:24-slim, then run the
// way docker-compose.yml runs it: the host's Docker socket mounted, a servers.yaml mounted
// read-only, the socket's group added, no capabilities. A real SDK client calls a tool through the
// containerized gateway, which starts the server as a sibling container and removes it when idle.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { buildGatewayImage, ensureNodeBaseImage, type GatewayBuild } from '../support/deploy-images.js';
import {
  docker,
  ensureFixtureImages,
  managedContainers,
  requireDocker
} from '../support/docker-test-setup.js';
import { connect, textOf, waitUntil } from '../support/gateway-process.js';

/** The owner label a containerized gateway gives its servers: the hash of its state directory, /data. */
const CONTAINER_OWNER = DockerRuntime.ownerFor('/data');

/** Marks the containers this file starts itself (the gateways, the one-off checks). */
const TEST_LABEL = 'io.mcp-gateway.test.deploy';

const available = await requireDocker('Docker image tests');

/** The engine's socket on this machine, which the gateway container gets. */
const socket = process.env.DOCKER_HOST?.startsWith('unix://')
  ? process.env.DOCKER_HOST.slice('unix://'.length)
  : '/var/run/docker.sock';

let image: GatewayBuild;
let fixtureImage: string;
let dir: string;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A container's output, from the engine's multiplexed log stream (8-byte frame headers). */
async function logsOf(container: Docker.Container): Promise<string> {
  const raw = await container.logs({ stdout: true, stderr: true, follow: false });
  const chunks: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length;) {
    const size = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A servers.yaml of this test's, for the image's config path: the repository's is the user's to edit. */
function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, 0o644);
  return file;
}

/**
 * Runs the image once with `cmd` (no network, `config` mounted as its servers.yaml when given) and
 * returns its exit code (-1: still running after 30 s) and output.
 */
async function runOnce(
  cmd: string[],
  options: { entrypoint?: string[]; config?: string; env?: string[] } = {}
): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({
    Image: image.tag,
    Cmd: cmd,
    ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
    Env: options.env ?? [],
    Labels: { [TEST_LABEL]: 'true' },
    HostConfig: {
      NetworkMode: 'none',
      Binds: options.config ? [`${options.config}:/etc/mcp-gateway/servers.yaml:ro`] : []
    }
  });
  try {
    await container.start();
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      (container.wait() as Promise<{ StatusCode: number }>).then(result => result.StatusCode),
      new Promise<number>(resolve => (timer = setTimeout(() => resolve(-1), 30_000)))
    ]).finally(() => clearTimeout(timer));
    return { code, output: await logsOf(container) };
  } finally {
    await container.remove({ force: true, v: true });
  }
}

describe.skipIf(!available)('the Docker image', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-image-'));
    const started = performance.now();
    const [base, fixtures] = await Promise.all([ensureNodeBaseImage(docker), ensureFixtureImages()]);
    fixtureImage = fixtures.fixture;
    image = await buildGatewayImage(base, docker);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`[docker-image] images ready in ${seconds} s (docker build ${image.seconds.toFixed(1)} s)`);
  }, 900_000);

  afterAll(async () => {
    for (const info of await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } })) {
      await docker
        .getContainer(info.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs as the unprivileged node user, serves on 0.0.0.0:8000 from /etc/mcp-gateway and /data, and checks /healthz', async () => {
    const info = await docker.getImage(image.tag).inspect();
    expect(info.Config.User).toBe('node');
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([
        'GATEWAY_HOST=0.0.0.0',
        'GATEWAY_PORT=8000',
        'MCP_GATEWAY_CONFIG=/etc/mcp-gateway/servers.yaml',
        'STATE_DIR=/data'
      ])
    );
    expect(Object.keys(info.Config.Volumes ?? {})).toEqual(['/data']);
    expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual(['8000/tcp']);
    expect(info.Config.Entrypoint).toEqual(['node', '/opt/mcp-gateway/dist/cli.js']);
    expect(info.Config.Cmd).toEqual(['serve']);
    const healthcheck = (info.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck;
    expect(healthcheck?.Test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(healthcheck?.Test?.[3]).toContain('/healthz');
  });

  it('holds the build and the production dependencies only, no servers.yaml, and validates a mounted one', async () => {
    const probe = await runOnce(
      [
        '-e',
        `const fs = require('node:fs');
         const at = name => fs.existsSync('/opt/mcp-gateway/' + name);
         console.log(JSON.stringify({
           uid: process.getuid(), dataOwner: fs.statSync('/data').uid,
           dist: at('dist/cli.js'), dockerode: at('node_modules/dockerode'),
           typescript: at('node_modules/typescript'), vitest: at('node_modules/vitest'), src: at('src'),
           config: fs.existsSync('/etc/mcp-gateway/servers.yaml')
         }));`
      ],
      { entrypoint: ['node'] }
    );
    expect(probe.code, probe.output).toBe(0);
    expect(JSON.parse(probe.output)).toEqual({
      uid: 1000,
      dataOwner: 1000,
      dist: true,
      dockerode: true,
      typescript: false,
      vitest: false,
      src: false,
      config: false
    });

    const config = writeConfig('validate.yaml', `servers:\n  time:\n    image: ${fixtureImage}\n`);
    // As docker-compose.yml runs it: on 0.0.0.0 without auth only when told (validate checks that too).
    const validate = await runOnce(['validate'], { config, env: ['GATEWAY_ALLOW_UNAUTHENTICATED=true'] });
    expect(validate.code, validate.output).toBe(0);
    expect(validate.output).toContain(`time: docker ${fixtureImage}`);
    expect(validate.output).toContain('/etc/mcp-gateway/servers.yaml: 1 of 1 servers enabled');

    // Nothing mounted: it says which file is missing and what to do.
    const missing = await runOnce(['validate']);
    expect(missing.code, missing.output).toBe(78);
    expect(missing.output).toContain('/etc/mcp-gateway/servers.yaml:1:1: cannot read config: file not found');
    expect(missing.output).toContain('mount yours at this path');
  });

  it('refuses to serve 0.0.0.0 without authentication unless told nothing else reaches the port', async () => {
    // docker-compose.yml says GATEWAY_ALLOW_UNAUTHENTICATED=true beside its 127.0.0.1-only port.
    const refused = await runOnce(['serve'], { config: writeConfig('serve.yaml', 'servers: {}\n') });
    expect(refused.code, refused.output).toBe(78); // EX_CONFIG
    expect(refused.output).toContain('refusing to serve 0.0.0.0 without authentication');
  });

  it('serves a tools/call from the host through the socket: the server container starts, and is removed when idle', async () => {
    const server = `deploy-${randomBytes(4).toString('hex')}`;
    const config = path.join(dir, 'servers.yaml');
    writeFileSync(
      config,
      `defaults:\n  idleTimeout: 2\nservers:\n  ${server}:\n    image: ${fixtureImage}\n`
    );
    chmodSync(config, 0o644);
    // This engine has no bridge network, so the gateway shares the host's, on a port of its own
    // and on loopback: the image's 0.0.0.0 would be every interface of this machine here.
    // (docker-compose.yml keeps 0.0.0.0 in the container's own network and publishes 127.0.0.1.)
    const port = await freePort();
    const gateway = await docker.createContainer({
      Image: image.tag,
      name: `mcp-gateway-test-deploy-${randomBytes(4).toString('hex')}`,
      Env: ['GATEWAY_HOST=127.0.0.1', `GATEWAY_PORT=${port}`],
      Labels: { [TEST_LABEL]: 'true' },
      // The image's check, run every second instead of every 30.
      Healthcheck: { Interval: 1_000_000_000 },
      HostConfig: {
        NetworkMode: 'host',
        Binds: [`${socket}:/var/run/docker.sock`, `${config}:/etc/mcp-gateway/servers.yaml:ro`],
        GroupAdd: [String(statSync(socket).gid)],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Init: true
      }
    });
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    try {
      const started = performance.now();
      await gateway.start();
      await waitUntil(async () => {
        const response = await fetch(new URL('/healthz', url)).catch(() => undefined);
        return response?.ok === true && !((await response.json()) as { discovering: boolean }).discovering;
      }, 30_000);
      const ready = performance.now();
      // Startup discovery started the server once to list its tools, and stopped it again.
      await waitUntil(async () => (await managedContainers(server, CONTAINER_OWNER)).length === 0, 15_000);

      const legacy = await connect(url, 'legacy', 'deploy-test');
      const modern = await connect(url, 'modern', 'deploy-test');
      try {
        const { tools } = await modern.listTools();
        expect(tools.map(tool => tool.name)).toContain(`${server}__echo`);
        const callStarted = performance.now();
        const result = await legacy.callTool({
          name: `${server}__echo`,
          arguments: { text: 'through the box' }
        });
        const callSeconds = (performance.now() - callStarted) / 1000;
        expect(textOf(result)).toBe('through the box');
        expect(textOf(await modern.callTool({ name: `${server}__echo`, arguments: { text: 'again' } }))).toBe(
          'again'
        );

        // The server runs as a sibling container, made by the gateway in the container (its
        // state directory is /data there).
        const [upstream] = await managedContainers(server, CONTAINER_OWNER);
        expect(upstream).toBeDefined();
        expect(upstream!.State).toBe('running');
        expect(upstream!.Labels['io.mcp-gateway.owner']).toBe(CONTAINER_OWNER);

        const idleFrom = performance.now();
        await waitUntil(async () => (await managedContainers(server, CONTAINER_OWNER)).length === 0, 15_000);
        console.log(
          `[docker-image] gateway ready ${((ready - started) / 1000).toFixed(1)} s after start; cold call ${callSeconds.toFixed(2)} s; upstream removed ${((performance.now() - idleFrom) / 1000).toFixed(1)} s after the calls`
        );
      } finally {
        await legacy.close();
        await modern.close();
      }

      await waitUntil(async () => (await gateway.inspect()).State.Health?.Status === 'healthy', 15_000);

      // docker stop: SIGTERM, a clean drain, exit 0, nothing left behind.
      await gateway.stop({ t: 20 });
      const { State } = await gateway.inspect();
      expect(State.ExitCode).toBe(0);
      expect(await managedContainers(server, CONTAINER_OWNER)).toEqual([]);
      const logs = await logsOf(gateway);
      expect(logs).toContain('"msg":"gateway listening"');
      expect(logs).toContain('"msg":"stopped"');
    } catch (error) {
      const logs = await logsOf(gateway).catch(() => '(no logs)');
      throw new Error(`${String(error)}\n--- gateway container log ---\n${logs}`, { cause: error });
    } finally {
      await gateway.remove({ force: true, v: true }).catch(() => undefined);
      for (const info of await managedContainers(server, CONTAINER_OWNER)) {
        await docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
  });
});
