// A Docker engine of a test's own, for fault tests that kill or stop the engine: its own socket,
// data root, exec root and pidfile under a temporary directory, so the engine other tests use is
// never touched. Requires root and `dockerd` on the PATH (.ci/run installs docker.io).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

/** How long a started engine gets to answer a ping. */
const START_TIMEOUT_MS = 30_000;

export class OwnDockerEngine {
  /** Talks to this engine only. */
  readonly docker: Docker;
  /** `unix://…` for DOCKER_HOST. */
  readonly host: string;
  private child: ChildProcess | undefined;
  private readonly logFile: string;

  private constructor(readonly dir: string) {
    const socket = path.join(dir, 'docker.sock');
    this.host = `unix://${socket}`;
    this.docker = new Docker({ socketPath: socket });
    this.logFile = path.join(dir, 'dockerd.log');
  }

  /** Makes the directory and starts the engine; waits until it answers. */
  static async start(): Promise<OwnDockerEngine> {
    const engine = new OwnDockerEngine(mkdtempSync(path.join(tmpdir(), 'mcp-gateway-fault-engine-')));
    try {
      await engine.up();
    } catch (error) {
      await engine.dispose();
      throw error;
    }
    return engine;
  }

  /**
   * Starts dockerd (again, on the same data) and waits until it answers. A containerd that a
   * killed dockerd left behind can make a restart time out waiting for its own; it is ended and
   * the start tried again.
   */
  async up(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      killProcesses(processesNaming(`${this.dir}/exec/containerd/containerd.toml`));
      try {
        await this.startOnce();
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  private async startOnce(): Promise<void> {
    const dir = this.dir;
    const child = spawn(
      'sh',
      [
        '-c',
        `exec dockerd --data-root "${dir}/data" --exec-root "${dir}/exec" -H "${this.host}" --pidfile "${dir}/docker.pid" --bridge=none --iptables=false --ip-masq=false >>"${this.logFile}" 2>&1`
      ],
      { stdio: 'ignore' }
    );
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', code =>
        reject(new Error(`dockerd exited (${code}) while starting:\n${this.logTail()}`))
      )
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const answered = await Promise.race([
        this.docker.ping().then(
          () => true,
          () => false
        ),
        exited
      ]);
      if (answered) return;
      if (Date.now() > deadline) {
        await this.signal('SIGKILL');
        throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS / 1000} s:\n${this.logTail()}`);
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }

  /**
   * Copies `tag` from `from` (the engine the fixture images are built on) into this one, which
   * has none of them: a save streamed into a load.
   */
  async importImage(from: Docker, tag: string): Promise<void> {
    const tar = await from.getImage(tag).get();
    const progress = await this.docker.loadImage(tar, { quiet: true });
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(progress, (error: Error | null) => (error ? reject(error) : resolve()))
    );
    await this.docker.getImage(tag).inspect();
  }

  /** `kill -9` of dockerd; its containerd and shims are left as a crash leaves them. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /**
   * SIGSTOP of dockerd: its socket still takes connections, and nothing answers them (an engine
   * that hangs). Undone by {@link thaw}, and by {@link dispose}.
   */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT of dockerd: it answers again. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** An orderly stop (SIGTERM), waiting for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Everything this engine started is ended, its mounts undone and its directory removed. */
  async dispose(): Promise<void> {
    this.thaw(); // a stopped dockerd would not act on SIGTERM
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.stop();
    this.killLeftoverProcesses();
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(resolve => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * containerd, its shims and the containers' processes outlive a killed dockerd. They are ours
   * when their command line names this engine's directory (containerd and the shims do), and so
   * are the containers' processes under the shims.
   */
  private killLeftoverProcesses(): void {
    killProcesses(withDescendants(processesNaming(this.dir)));
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function killProcesses(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function processesNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}

/** `pids` and every process below them. */
function withDescendants(pids: readonly number[]): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (ppid) parents.set(Number(entry), Number(ppid));
    } catch {
      // ended while we looked
    }
  }
  const found = new Set(pids);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (found.has(ppid) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** Lazily unmounts every mount under `dir`, deepest first (a killed engine leaves them). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map(line => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}
