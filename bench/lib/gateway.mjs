// The built gateway (dist/cli.js) as a child process on a free 127.0.0.1 port, as an operator runs
// it (default log level `info`, logs on stderr), with its pid for /proc readings.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DockerRuntime } from '../../dist/runtime/docker-runtime.js';
import { onCleanup, trackOwner } from './cleanup.mjs';
import { cpuMs, rssBytes } from './proc.mjs';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The gateway under test: the build in dist/, or another one named by BENCH_GATEWAY_CLI (to compare builds). */
export const CLI = process.env.BENCH_GATEWAY_CLI
  ? path.resolve(process.env.BENCH_GATEWAY_CLI)
  : path.join(ROOT, 'dist', 'cli.js');

/** Keeps the last lines of the gateway's log, for the error message when something goes wrong. */
const TAIL_CHARS = 20_000;

/**
 * servers.yaml lines that raise the gateway's per-client request limits above what the bench
 * sends (one client address making thousands of calls a second and a thousand sessions), so the
 * figures measure the gateway, not its rate limiter. The limiter still runs. Used only when the
 * built gateway knows these settings (see {@link probeBenchSettings}).
 */
const RAISED_LIMITS = `gateway:
  limits:
    requestsPerMinute: 100000000
    sessionsPerPrincipal: 5000
    maxSessions: 5000
`;

/** What every bench gateway's servers.yaml starts with (set once by {@link probeBenchSettings}). */
let settingsPrefix = '';

/**
 * Checks with `mcp-gateway validate` (which refuses keys it does not know) whether the built gateway
 * has request limits to raise; if so, every gateway the bench starts gets them raised. Returns the
 * lines used, or '' when the gateway has no such limits.
 */
export function probeBenchSettings(dir) {
  const file = path.join(dir, 'limits-probe.yaml');
  writeFileSync(file, `${RAISED_LIMITS}servers: {}\n`);
  const validated = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8' });
  settingsPrefix = validated.status === 0 ? RAISED_LIMITS : '';
  return settingsPrefix;
}

export class GatewayChild {
  /** @type {URL} */
  url;
  /** The inspector's WebSocket URL, when started with `inspect: true`. */
  inspectorUrl;

  constructor(child, dir, stateDir) {
    this.child = child;
    this.dir = dir;
    this.stateDir = stateDir;
    /** The owner label on this gateway's containers (see DockerRuntime.ownerFor). */
    this.owner = DockerRuntime.ownerFor(stateDir);
    trackOwner(this.owner);
    this.tail = '';
    this.exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Writes `config` to `dir/servers.yaml` and starts the gateway on it, with `gatewaySettings` (YAML lines
   * under `gateway:`, e.g. `['expose: search']`) beside the bench's own settings. `stateDir` defaults to
   * `dir/data`. `nodeArgs` go to node itself (`--cpu-prof`, ...), `env` is added to its environment;
   * `raisedLimits: false` leaves the request limits as an operator gets them (and the `gateway:` key to
   * `config`, unless `gatewaySettings` are given). `inspect` opens the inspector on a
   * loopback port so the bench can force a garbage collection before reading memory.
   */
  static async start({
    dir,
    config,
    stateDir,
    gatewaySettings = [],
    nodeArgs = [],
    env = {},
    raisedLimits = true,
    inspect = false,
    logLevel = 'info',
    cli = CLI
  }) {
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'servers.yaml');
    const prefix = raisedLimits ? settingsPrefix : '';
    const settings =
      gatewaySettings.length > 0
        ? `gateway:\n${gatewaySettings.map(line => `  ${line}\n`).join('')}${prefix.replace(/^gateway:\n/, '')}`
        : prefix;
    writeFileSync(configFile, `${settings}${config}`);
    stateDir = path.resolve(stateDir ?? path.join(dir, 'data'));
    // Below `info` the gateway does not log where it listens: give it a free port and poll it.
    const logsUrl = ['info', 'debug', 'trace'].includes(logLevel);
    const port = logsUrl ? 0 : await freePort();
    const args = [
      ...nodeArgs,
      ...(inspect ? ['--inspect=127.0.0.1:0'] : []),
      cli,
      'serve',
      '--config',
      configFile,
      '--state-dir',
      stateDir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      logLevel
    ];
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe']
    });
    const gateway = new GatewayChild(child, dir, stateDir);
    gateway.unregister = onCleanup(() => gateway.stop());
    if (logsUrl) await gateway.listening(inspect);
    else await gateway.answering(new URL(`http://127.0.0.1:${port}/mcp`));
    return gateway;
  }

  get pid() {
    return this.child.pid;
  }

  /** Resolves once the log says where it listens (and, with `inspect`, where the inspector is). */
  listening(inspect) {
    return new Promise((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => fail(new Error('the gateway did not listen within 60 s')), 60_000);
      const fail = error => {
        clearTimeout(timer);
        reject(new Error(`${error.message}\n--- gateway log ---\n${this.tail}`));
      };
      this.child.stderr.setEncoding('utf8');
      this.child.stderr.on('data', chunk => {
        this.tail = (this.tail + chunk).slice(-TAIL_CHARS);
        if (this.url && (!inspect || this.inspectorUrl)) return;
        pending += chunk;
        let index;
        while ((index = pending.indexOf('\n')) !== -1) {
          const line = pending.slice(0, index);
          pending = pending.slice(index + 1);
          const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(line);
          if (inspector) this.inspectorUrl = inspector[1];
          if (line.includes('"gateway listening"')) this.url = new URL(JSON.parse(line).url);
        }
        if (this.url && (!inspect || this.inspectorUrl)) {
          clearTimeout(timer);
          pending = '';
          resolve();
        }
      });
      void this.exited.then(exit => fail(new Error(`the gateway exited (${exit.code ?? exit.signal})`)));
    });
  }

  /** Resolves once `url`'s /healthz answers (for gateways that do not log where they listen). */
  async answering(url) {
    const deadline = Date.now() + 60_000;
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', chunk => {
      this.tail = (this.tail + chunk).slice(-TAIL_CHARS);
    });
    for (;;) {
      if (this.child.exitCode !== null)
        throw new Error(`the gateway exited\n--- gateway log ---\n${this.tail}`);
      try {
        if ((await fetch(new URL('/healthz', url))).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the gateway did not answer within 60 s\n${this.tail}`);
      await sleep(50);
    }
    this.url = url;
  }

  async health() {
    const response = await fetch(new URL('/healthz', this.url));
    return response.json();
  }

  /** Waits until startup discovery has finished. */
  async discovered(timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    while ((await this.health()).discovering) {
      if (Date.now() > deadline) throw new Error(`discovery did not finish within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  rss() {
    return rssBytes(this.pid);
  }

  cpuMs() {
    return cpuMs(this.pid);
  }

  /** Stops it with SIGTERM (a graceful exit writes a --cpu-prof profile), SIGKILL after 20 s. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.unregister?.();
  }
}

/** A port nobody listens on right now (the gateway gets it a moment later). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Polls until `condition` holds; throws after `timeoutMs`, naming `what` did not happen. */
export async function until(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/**
 * A gateway serving one server, `id`, on the fixture image (whose `echo` tool the bench calls),
 * started and with its startup discovery finished.
 */
export async function startFixtureGateway(dir, image, options = {}) {
  const { id = 'fixture', idleTimeout = 0, prefix = '', ...rest } = options;
  const gateway = await GatewayChild.start({
    dir,
    config: `${prefix}defaults:\n  idleTimeout: ${idleTimeout}\nservers:\n  ${id}:\n    image: ${image}\n`,
    ...rest
  });
  await gateway.discovered();
  return gateway;
}
