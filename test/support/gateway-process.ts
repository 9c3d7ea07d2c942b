import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Sets the admin password of the gateway state in `stateDir` with the CLI, as an operator would. */
export function setAdminPassword(stateDir: string, password: string): void {
  const set = spawnSync(process.execPath, [CLI, 'admin', 'set-password', '--state-dir', stateDir], {
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 20_000
  });
  if (set.status !== 0) throw new Error(`admin set-password exited ${set.status}: ${set.stderr}`);
}
export const FIXTURE_SERVER = path.join(ROOT, 'test', 'fixtures', 'fixture-server.mjs');
export const EVERYTHING_SERVER = path.join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js'
);

/**
 * Every gateway child still running. A test that fails before its cleanup would otherwise leave
 * its gateway (and the gateway's servers) running after the test process ends.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A log line the gateway wrote to stderr. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * The built gateway (`dist/cli.js`) running as a child process on a free port, with its own
 * config and state directory, and its JSON log collected.
 */
export class GatewayProcess {
  readonly logs: LogLine[] = [];
  readonly stderrText: string[] = [];
  url!: URL;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string
  ) {
    let pending = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      pending += chunk;
      let index;
      while ((index = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, index);
        pending = pending.slice(index + 1);
        this.stderrText.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (config problems are printed plainly)
        }
        for (const wake of this.waiters) wake();
      }
    });
    this.exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts a gateway for `config` (servers.yaml text) and waits until it listens: on a free port, or
   * on `port` (a restart on the port its clients know).
   */
  static async start(
    config: string,
    options: { env?: Record<string, string>; args?: string[]; stateDir?: string; port?: number } = {}
  ): Promise<GatewayProcess> {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-test-'));
    writeFileSync(path.join(dir, 'servers.yaml'), config);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--config',
        path.join(dir, 'servers.yaml'),
        '--state-dir',
        options.stateDir ?? path.join(dir, 'data'),
        '--port',
        String(options.port ?? 0),
        '--log-level',
        'debug',
        ...(options.args ?? [])
      ],
      { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    const gateway = new GatewayProcess(child, dir);
    running.add(child);
    child.once('exit', () => running.delete(child));
    const listening = await Promise.race([
      gateway.waitForLog(line => line.msg === 'gateway listening', 20_000),
      gateway.exited.then(exit => {
        throw new Error(`gateway exited (${exit.code}) before listening:\n${gateway.stderrText.join('\n')}`);
      })
    ]);
    gateway.url = new URL(String(listening.url));
    return gateway;
  }

  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.logs.find(match);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits until startup discovery has finished. */
  async discovered(timeoutMs = 30_000): Promise<void> {
    await waitUntil(async () => {
      const health = (await (await fetch(new URL('/healthz', this.url))).json()) as { discovering: boolean };
      return !health.discovering;
    }, timeoutMs);
  }

  async health(): Promise<Record<string, unknown> & { servers: { id: string; state: string }[] }> {
    const response = await fetch(new URL('/healthz', this.url));
    return (await response.json()) as Record<string, unknown> & { servers: { id: string; state: string }[] };
  }

  /** Sends `signal` and waits for the exit. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM'
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Stops the gateway if it runs and removes its files. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A unique marker to put on a server's command line, to find its processes. */
export function marker(): string {
  return `--test-marker=${randomUUID()}`;
}

/** Pids of live processes whose command line contains `text` (zombies are not counted). */
export function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(text)) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Polls `condition` every 50 ms until it is true; rejects after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

export type Era = 'legacy' | 'modern';

/** An SDK client connected to the gateway: pinned to 2025-11-25 with a session, or negotiating 2026-07-28. */
export async function connect(url: URL, era: Era, name = `test-${era}`): Promise<Client> {
  const client = new Client(
    { name, version: '1.0.0' },
    era === 'legacy' ? { versionNegotiation: { mode: 'legacy' } } : { versionNegotiation: { mode: 'auto' } }
  );
  await client.connect(new StreamableHTTPClientTransport(url));
  return client;
}

/** The text of a tool result's first content block. */
export function textOf(result: { content?: unknown }): string {
  const content = result.content as { type: string; text?: string }[] | undefined;
  return content?.[0]?.text ?? '';
}
