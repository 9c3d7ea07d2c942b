import { spawn, type ChildProcess } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { ProcessSpec } from '../config/server-spec.js';
import { isDirectory } from '../config/missing-commands.js';
import { GatewayError } from '../errors.js';
import { forEachLine } from './line-splitter.js';
import type { ExitInfo, Runtime, ServerProcess, StderrSink } from './runtime.js';

/**
 * The gateway's proxy and CA settings, passed to every local process besides the SDK's safe list:
 * without them an `npx` or `uvx` server behind a corporate proxy cannot download its package and
 * fails with a misleading start timeout. Both spellings of the proxy variables, since tools differ
 * in which they read. They say where the network is, not what a server may do.
 */
export const NETWORK_VARIABLES = [
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'NODE_USE_ENV_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE'
] as const;

function networkEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    NETWORK_VARIABLES.flatMap(name => (env[name] === undefined ? [] : [[name, env[name]]]))
  );
}

/** How long a process gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 3_000;

/**
 * Runs a server as a local child process over stdio. Each server gets its own process group, so
 * stopping it also ends whatever it spawned (`npx` starts a second process, for one).
 */
export class LocalProcessRuntime implements Runtime<ProcessSpec> {
  readonly kind = 'process' as const;

  start(spec: ProcessSpec, stderr: StderrSink, signal: AbortSignal): Promise<ServerProcess> {
    const [program, ...args] = spec.command;
    if (signal.aborted) {
      return Promise.reject(
        new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: spec.id })
      );
    }
    // Only the SDK's short list of safe variables (PATH, HOME, ...) and the proxy and CA settings
    // are inherited: the gateway's own environment may hold secrets meant for other servers. The
    // server's own `env` wins over both.
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env: { ...getDefaultEnvironment(), ...networkEnvironment(process.env), ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true
    });
    return new Promise((resolve, reject) => {
      child.once('error', error => {
        // A missing working directory fails as `spawn <program> ENOENT` too: say which is missing.
        const why =
          spec.cwd !== undefined && !isDirectory(spec.cwd)
            ? `its working directory ${spec.cwd} (cwd:) is not a directory`
            : `cannot run ${program}: ${error.message}`;
        reject(
          new GatewayError('start_failed', `server ${spec.id}: ${why}`, {
            cause: error,
            serverId: spec.id
          })
        );
      });
      child.once('spawn', () => resolve(new LocalProcess(child, stderr)));
    });
  }
}

class LocalProcess implements ServerProcess {
  readonly exited: Promise<ExitInfo>;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    stderr: StderrSink
  ) {
    if (!child.stderr) throw new Error('child spawned without a stderr pipe');
    forEachLine(child.stderr, stderr);
    // Writes to a dead process fail with EPIPE; the exit is what reports the failure.
    child.stdin?.on('error', () => {});
    this.exited = new Promise(resolve => {
      child.once('exit', (code, signalName) => {
        resolve({
          reason: signalName ? `signal ${signalName}` : `exit code ${code ?? 'unknown'}`,
          requested: this.stopRequested
        });
      });
    });
  }

  get stdin() {
    return this.child.stdin!;
  }

  get stdout() {
    return this.child.stdout!;
  }

  get label() {
    return `pid ${this.child.pid ?? '?'}`;
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    this.stopRequested = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      this.killGroup('SIGKILL'); // anything the server left running in its group
      return;
    }
    // Closing stdin is the stdio way to ask a server to leave; SIGTERM makes sure.
    this.child.stdin?.end();
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), KILL_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
    this.killGroup('SIGKILL');
  }

  private killGroup(signalName: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signalName);
    } catch {
      // The group is already gone.
    }
  }
}
