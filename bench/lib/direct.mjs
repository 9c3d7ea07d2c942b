// The baselines: the SDK client talking to the server in a container with no gateway between.
//
// - `docker run -i`: the docker CLI as a child process, spoken to over its stdio by the SDK's own
//   StdioClientTransport. This is the baseline; the CLI is used here only, never by the
//   gateway.
// - attach: the gateway's own Docker runtime (dist/runtime/docker-runtime.js: dockerode create,
//   attach, start) and its stdio framing, with the SDK client on top and nothing else. The transport
//   the gateway itself uses to reach a container, so the difference to a call through the gateway is
//   exactly the gateway's HTTP side and its own work.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { parseConfig } from '../../dist/config/load-config.js';
import { createLogger } from '../../dist/log.js';
import { DockerRuntime } from '../../dist/runtime/docker-runtime.js';
import { StreamTransport } from '../../dist/connectors/stream-transport.js';
import { onCleanup, trackOwner } from './cleanup.mjs';

const execFileAsync = promisify(execFile);

/** Every container the bench itself runs carries this label, so it can always be found and removed. */
export const BENCH_LABEL = 'io.mcp-gateway.bench';

const CLIENT_INFO = { name: 'mcp-gateway-bench', version: '1.0.0' };

/**
 * `docker run -i` with the confinement the gateway gives a server by default (see the README's
 * Docker section), so both sides run the server under the same limits.
 */
export function dockerRunArgs(image, name) {
  return [
    'run',
    '-i',
    '--rm',
    '--name',
    name,
    '--label',
    `${BENCH_LABEL}=true`,
    '--network',
    'none',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    '512m',
    '--cpus',
    '1',
    '--pids-limit',
    '256',
    image
  ];
}

function dockerEnv() {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  for (const key of ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY']) {
    if (process.env[key]) env[key] = process.env[key];
  }
  return env;
}

/** Removes a bench container by name if it is still there (the CLI's `--rm` usually got it). */
export async function removeBenchContainer(name) {
  await execFileAsync('docker', ['rm', '-f', name], { env: dockerEnv() }).catch(() => undefined);
}

/** Removes every container carrying the bench label (the last sweep). Returns how many. */
export async function removeAllBenchContainers() {
  const { stdout } = await execFileAsync('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}`], {
    env: dockerEnv()
  });
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await execFileAsync('docker', ['rm', '-f', ...ids], { env: dockerEnv() });
  return ids.length;
}

/**
 * An SDK client over `docker run -i <image>`. `prior` is the era verdict to connect with (as the
 * gateway does once it knows the server): without it the plain 2025 `initialize` handshake runs.
 */
export async function connectDockerRun(image, prior) {
  const name = `mcp-gateway-bench-${randomUUID().slice(0, 8)}`;
  const unregister = onCleanup(() => removeBenchContainer(name));
  const transport = new StdioClientTransport({
    command: 'docker',
    args: dockerRunArgs(image, name),
    env: dockerEnv(),
    stderr: 'ignore'
  });
  const client = new Client(CLIENT_INFO);
  await client.connect(transport, prior ? { prior } : {});
  return {
    client,
    /** The docker CLI process relaying the container's stdio. */
    cliPid: transport.pid,
    async close() {
      await client.close().catch(() => undefined);
      await removeBenchContainer(name);
      unregister();
    }
  };
}

/** A server spec exactly as the gateway builds it from a `servers.yaml` entry `{ image }`. */
export function dockerSpec(image) {
  const parsed = parseConfig(
    `servers:\n  direct:\n    image: ${image}\n`,
    path.join(import.meta.dirname, 'servers.yaml'),
    { env: {} }
  );
  if (!parsed.ok) throw new Error(`cannot build a spec: ${JSON.stringify(parsed.problems)}`);
  return parsed.config.servers[0];
}

/**
 * An SDK client over the gateway's own Docker runtime (dockerode attach) and stdio framing. With
 * no `prior` it negotiates (`auto`), probing in place as the gateway does.
 */
export async function connectAttach(image, owner, prior) {
  trackOwner(owner);
  const runtime = new DockerRuntime({ owner, log: createLogger('silent') });
  const server = await runtime.start(dockerSpec(image), () => {}, new AbortController().signal);
  const unregister = onCleanup(() => server.stop());
  const client = new Client(CLIENT_INFO, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamTransport(server.stdout, server.stdin), prior ? { prior } : {});
  return {
    client,
    /** The era verdict to hand to other connections to the same image. */
    prior() {
      const discover = client.getDiscoverResult();
      return client.getProtocolEra() === 'modern' && discover
        ? { kind: 'modern', discover }
        : { kind: 'legacy' };
    },
    async close() {
      await client.close().catch(() => undefined);
      await server.stop();
      unregister();
    }
  };
}
