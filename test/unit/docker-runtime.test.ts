import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { DockerSpec } from '../../src/config/server-spec.js';
import { GatewayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { DockerRuntime, MANAGED_LABEL, OWNER_LABEL, SERVER_LABEL } from '../../src/runtime/docker-runtime.js';
import type { ServerProcess } from '../../src/runtime/runtime.js';

/**
 * A hand-written stand-in for the part of dockerode that DockerRuntime uses. Every call is
 * recorded in `calls` (in order) so tests can check what was asked of the engine and when.
 */

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An error the way dockerode reports an HTTP status from the engine. */
const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
/** An error the way Node reports a socket failure. */
const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });

/** Channels of the engine's multiplexed stream. */
const STDOUT = 1;
const STDERR = 2;

/**
 * The hijacked attach stream: what the runtime writes is recorded in `written` (the container's
 * stdin); what the container "prints" is pushed as `{ channel, data }` objects that the fake
 * `demuxStream` routes.
 */
class FakeAttachStream extends Duplex {
  readonly written: Buffer[] = [];

  constructor() {
    super({ readableObjectMode: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written.push(chunk);
    callback();
  }

  /** The container writes `data` on `channel`. */
  emitOutput(channel: number, data: string): void {
    this.push({ channel, data: Buffer.from(data) });
  }

  /** The container's output ends. */
  endOutput(): void {
    this.push(null);
  }

  get stdinText(): string {
    return Buffer.concat(this.written).toString('utf8');
  }
}

class FakeContainer {
  readonly stream = new FakeAttachStream();
  readonly exit = deferred<{ StatusCode: number }>();
  /** What `start()` does; by default it succeeds. */
  startError: Error | undefined;
  /** What `remove()` rejects with, if anything. */
  removeError: Error | undefined;
  /** Reject the wait while `start()` is still in flight (an engine that drops its connections). */
  waitErrorDuringStart: Error | undefined;
  /** What `inspect()` answers with: the container's state, or an error (the engine is gone). */
  state: { Running: boolean; ExitCode: number; OOMKilled: boolean } | Error = {
    Running: true,
    ExitCode: 0,
    OOMKilled: false
  };

  constructor(
    private readonly engine: FakeDocker,
    readonly id: string,
    readonly options: Docker.ContainerCreateOptions | undefined
  ) {}

  attach(options: unknown): Promise<Duplex> {
    this.engine.record('attach', this.id, options);
    return Promise.resolve(this.stream);
  }

  wait(options: unknown): Promise<{ StatusCode: number }> {
    this.engine.record('wait', this.id, options);
    return this.exit.promise;
  }

  inspect(): Promise<{ State: { Running: boolean; ExitCode: number; OOMKilled: boolean } }> {
    this.engine.record('inspectContainer', this.id);
    return this.state instanceof Error ? Promise.reject(this.state) : Promise.resolve({ State: this.state });
  }

  async start(): Promise<void> {
    this.engine.record('start', this.id);
    if (this.waitErrorDuringStart !== undefined) this.exit.reject(this.waitErrorDuringStart);
    await delay(5);
    if (this.startError !== undefined) throw this.startError;
  }

  stop(options: unknown): Promise<void> {
    this.engine.record('stop', this.id, options);
    // Like the engine: the stopped container exits (SIGTERM), ending its output and its wait.
    this.stream.endOutput();
    this.exit.resolve({ StatusCode: 143 });
    return Promise.resolve();
  }

  remove(options: unknown): Promise<void> {
    this.engine.record('remove', this.id, options);
    if (this.engine.removeHangs) return new Promise(() => {});
    if (this.removeError !== undefined) return Promise.reject(this.removeError);
    this.engine.removed.push(this.id);
    return Promise.resolve();
  }

  /** The container's process ends on its own with `code`. */
  crash(code: number, oomKilled = false): void {
    this.state = { Running: false, ExitCode: code, OOMKilled: oomKilled };
    this.stream.endOutput();
    this.exit.resolve({ StatusCode: code });
  }
}

interface ProgressEvent {
  id?: string;
  status?: string;
  error?: string;
  progressDetail?: { current?: number; total?: number };
}

/** How the next pull goes. */
interface PullPlan {
  /** Progress events delivered before the pull finishes. */
  events: ProgressEvent[];
  /** How long the pull takes. */
  ms: number;
  /** Finish with this error instead of success. */
  error?: Error;
  /** `docker.pull()` itself rejects with this. */
  reject?: Error;
}

interface Call {
  readonly method: string;
  readonly target: string | undefined;
  readonly args: unknown;
}

class FakeDocker {
  readonly calls: Call[] = [];
  /** Images present on the engine: name → image id. */
  readonly images = new Map<string, string>();
  readonly containers: FakeContainer[] = [];
  readonly removed: string[] = [];
  /** What `getImage().inspect()` rejects with instead of answering, when set. */
  inspectError: Error | undefined;
  /** `getImage().inspect()` never answers. */
  inspectHangs = false;
  /** What `createContainer()` rejects with, when set. */
  createError: Error | undefined;
  /** Applied to each container as it is created. */
  onCreate: ((container: FakeContainer) => void) | undefined;
  /** Pull plans, one per pull; the last is reused. */
  pullPlans: PullPlan[] = [
    {
      events: [
        { status: 'Pulling from library/example', id: 'latest' },
        { id: 'layer-a', status: 'Downloading', progressDetail: { current: 50, total: 100 } },
        { id: 'layer-b', status: 'Downloading', progressDetail: { current: 10, total: 200 } },
        { id: 'layer-a', status: 'Download complete' }
      ],
      ms: 30
    }
  ];
  /** Containers listed by `listContainers()`. */
  listed: { Id: string; Labels: Record<string, string> }[] = [];
  /** How long `createContainer()` takes. */
  createDelayMs = 0;
  /** `listContainers()` never answers (an engine that hangs). */
  listHangs = false;
  /** `remove()` never answers, for every container. */
  removeHangs = false;
  /** What `ping()` does: resolve, reject with an error, never answer, or answer as the promise does. */
  pingBehaviour: 'ok' | 'hang' | Error | Promise<unknown> = 'ok';

  readonly modem = {
    demuxStream: (stream: Readable, stdout: Writable, stderr: Writable): void => {
      this.record('demuxStream', undefined, undefined);
      stream.on('data', (chunk: { channel: number; data: Buffer }) => {
        (chunk.channel === STDERR ? stderr : stdout).write(chunk.data);
      });
    },
    followProgress: (
      stream: Readable,
      onFinished: (error: Error | null, output?: unknown[]) => void,
      onProgress: (event: ProgressEvent) => void
    ): void => {
      const plan = (stream as Readable & { plan: PullPlan }).plan;
      this.record('followProgress', undefined, undefined);
      void (async () => {
        for (const event of plan.events) {
          await delay(plan.ms / (plan.events.length + 1));
          onProgress(event);
        }
        await delay(plan.ms / (plan.events.length + 1));
        if (plan.error) {
          onFinished(plan.error);
          return;
        }
        this.images.set((stream as Readable & { image: string }).image, `sha256:pulled-${this.pulls}`);
        onFinished(null, plan.events);
      })();
    }
  };

  record(method: string, target: string | undefined, args?: unknown): void {
    this.calls.push({ method, target, args });
  }

  /** How many times `docker.pull()` was called. */
  get pulls(): number {
    return this.calls.filter(c => c.method === 'pull').length;
  }

  callsOf(method: string): Call[] {
    return this.calls.filter(c => c.method === method);
  }

  ping(): Promise<unknown> {
    this.record('ping', undefined);
    if (this.pingBehaviour === 'hang') return new Promise(() => {});
    if (this.pingBehaviour instanceof Error) return Promise.reject(this.pingBehaviour);
    if (this.pingBehaviour instanceof Promise) return this.pingBehaviour;
    return Promise.resolve('OK');
  }

  getImage(name: string) {
    return {
      inspect: (): Promise<{ Id: string }> => {
        this.record('inspect', name);
        if (this.inspectHangs) return new Promise(() => {});
        if (this.inspectError !== undefined) return Promise.reject(this.inspectError);
        const id = this.images.get(name);
        return id ? Promise.resolve({ Id: id }) : Promise.reject(httpError(404, `No such image: ${name}`));
      }
    };
  }

  pull(image: string): Promise<Readable> {
    this.record('pull', image);
    const index = Math.min(this.pulls - 1, this.pullPlans.length - 1);
    const plan = this.pullPlans[index]!;
    if (plan.reject !== undefined) return Promise.reject(plan.reject);
    const stream = Object.assign(new PassThrough(), { plan, image });
    return Promise.resolve(stream);
  }

  async createContainer(options: Docker.ContainerCreateOptions): Promise<FakeContainer> {
    this.record('createContainer', undefined, options);
    if (this.createError !== undefined) throw this.createError;
    const container = new FakeContainer(this, `c${this.containers.length + 1}`.padEnd(64, '0'), options);
    this.onCreate?.(container);
    this.containers.push(container);
    if (this.createDelayMs > 0) await delay(this.createDelayMs);
    return container;
  }

  getContainer(id: string) {
    const known = this.containers.find(c => c.id === id);
    return known ?? new FakeContainer(this, id, undefined);
  }

  listContainers(
    options: unknown
  ): Promise<{ Id: string; Labels: Record<string, string>; Created?: number }[]> {
    this.record('listContainers', undefined, options);
    if (this.listHangs) return new Promise(() => {});
    return Promise.resolve(this.listed);
  }
}

/** Log lines written by the runtime, parsed. */
interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function memoryLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(chunk: string) {
        for (const line of chunk.split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      }
    }
  );
  return { log, lines };
}

const OWNER = 'owner-0123456789';

function setup(options: { sweepRequestTimeoutMs?: number; pullRetryMs?: number } = {}) {
  const engine = new FakeDocker();
  const { log, lines } = memoryLogger();
  const runtime = new DockerRuntime({ docker: engine as unknown as Docker, owner: OWNER, log, ...options });
  return { engine, runtime, lines };
}

/** A runtime whose one start of `plain` failed to pull its image ("manifest unknown"). */
async function withFailedPull() {
  const { engine, runtime } = setup();
  engine.pullPlans = [{ events: [], ms: 5, error: new Error('manifest unknown') }];
  const spec = specs().plain!;
  await expect(runtime.start(spec, () => {}, new AbortController().signal)).rejects.toMatchObject({
    code: 'image_unavailable'
  });
  return { engine, runtime, spec };
}

const CONFIG_FILE = '/srv/gateway/servers.yaml';
const CONFIG = `
servers:
  plain:
    image: example/plain:1
  tuned:
    image: example/tuned:2
    command: [node, server.js, --verbose]
    env:
      TOKEN: \${TOKEN}
      LEVEL: 3
    network: bridge
    memory: 1g
    cpus: 0.5
    pids: 64
    volumes:
      - ./data:/data
      - /var/cache/tool:/cache:rw
    user: '1000:1000'
    readOnly: true
  local:
    command: [node, local.js]
`;

/** The Docker servers of the test config (a DockerSpec always has an image: no test needs one without). */
function specs(): Record<string, DockerSpec> {
  const result = parseConfig(CONFIG, CONFIG_FILE, { env: { TOKEN: 'secret-token' } });
  if (!result.ok) throw new Error(`test config is invalid: ${JSON.stringify(result.problems)}`);
  return Object.fromEntries(
    result.config.servers.flatMap(spec => (spec.kind === 'docker' ? [[spec.id, spec]] : []))
  );
}

const processes: ServerProcess[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map(p => p.stop()));
});

async function start(
  runtime: DockerRuntime,
  spec: DockerSpec,
  stderr: string[] = [],
  signal = new AbortController().signal
): Promise<ServerProcess> {
  const process = await runtime.start(spec, line => stderr.push(line), signal);
  processes.push(process);
  return process;
}

/** Everything a readable has produced so far, once `predicate` accepts it. */
async function readUntil(stream: Readable, predicate: (text: string) => boolean): Promise<string> {
  let text = '';
  stream.on('data', (chunk: Buffer | string) => (text += chunk.toString()));
  await expect.poll(() => predicate(text), { timeout: 2_000 }).toBe(true);
  return text;
}

describe('DockerRuntime.ownerFor', () => {
  it('is stable for a directory and differs between directories', () => {
    const a = DockerRuntime.ownerFor('/var/lib/gateway-a');
    expect(a).toBe(DockerRuntime.ownerFor('/var/lib/gateway-a'));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(DockerRuntime.ownerFor('/var/lib/gateway-b')).not.toBe(a);
    expect(DockerRuntime.ownerFor('/var/lib/gateway-a/')).not.toBe(a);
  });
});

describe('DockerRuntime image pulls', () => {
  it('does not pull an image that is already present', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    await start(runtime, specs().plain!);
    expect(engine.pulls).toBe(0);
    expect(engine.callsOf('createContainer')).toHaveLength(1);
  });

  it('pulls a missing image exactly once for 5 concurrent starts', async () => {
    const { engine, runtime } = setup();
    const spec = specs().plain!;
    const started = await Promise.all(Array.from({ length: 5 }, () => start(runtime, spec)));
    expect(engine.pulls).toBe(1);
    expect(engine.callsOf('pull')[0]!.target).toBe('example/plain:1');
    expect(engine.callsOf('createContainer')).toHaveLength(5);
    expect(new Set(started.map(p => p.label)).size).toBe(5);
    // Every container was created after the pull had finished.
    const pulledAt = engine.calls.findIndex(c => c.method === 'followProgress');
    const firstCreate = engine.calls.findIndex(c => c.method === 'createContainer');
    expect(pulledAt).toBeGreaterThanOrEqual(0);
    expect(firstCreate).toBeGreaterThan(pulledAt);

    // Once present, later starts do not pull again.
    await start(runtime, spec);
    expect(engine.pulls).toBe(1);
  });

  it('shares a pull in progress with a start that arrives later', async () => {
    const { engine, runtime } = setup();
    engine.pullPlans = [{ events: [], ms: 100 }];
    const spec = specs().plain!;
    const first = start(runtime, spec);
    await delay(30);
    expect(engine.pulls).toBe(1);
    const second = start(runtime, spec);
    await Promise.all([first, second]);
    expect(engine.pulls).toBe(1);
  });

  it('logs the pull and its progress with the image name', async () => {
    const { engine, runtime, lines } = setup();
    // The runtime reports progress at most once a second, measured from performance.now().
    while (performance.now() < 1_200) await delay(50);
    await start(runtime, specs().plain!);
    expect(engine.pulls).toBe(1);

    const pulling = lines.find(l => l.msg === 'pulling image');
    expect(pulling).toMatchObject({ image: 'example/plain:1', server: 'plain', component: 'docker' });

    const progress = lines.filter(l => l.msg === 'pull progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatchObject({ image: 'example/plain:1', server: 'plain' });
    expect(typeof progress[0]!.layers).toBe('number');
    expect(typeof progress[0]!.bytes).toBe('number');
    expect(typeof progress[0]!.totalBytes).toBe('number');

    const pulled = lines.find(l => l.msg === 'image pulled');
    expect(pulled).toMatchObject({ image: 'example/plain:1', server: 'plain' });
    expect(typeof pulled!.ms).toBe('number');
    expect(lines.indexOf(pulling!)).toBeLessThan(lines.indexOf(pulled!));
  });

  it('sums layer progress in the progress log', async () => {
    const { engine, runtime, lines } = setup();
    while (performance.now() < 1_200) await delay(50);
    // One event carrying a layer's size is the first report (reports are at most once a second).
    engine.pullPlans = [
      {
        events: [{ id: 'layer-a', status: 'Downloading', progressDetail: { current: 50, total: 100 } }],
        ms: 5
      }
    ];
    await start(runtime, specs().plain!);
    expect(lines.find(l => l.msg === 'pull progress')).toMatchObject({
      image: 'example/plain:1',
      layers: 1,
      bytes: 50,
      totalBytes: 100
    });
  });

  it('rejects every waiting start with image_unavailable when the pull fails, and pulls again later', async () => {
    const { engine, runtime } = setup({ pullRetryMs: 100 });
    engine.pullPlans = [
      { events: [{ status: 'Pulling' }], ms: 30, error: new Error('manifest for example/plain:1 not found') },
      { events: [], ms: 5 }
    ];
    const spec = specs().plain!;
    const starts = Array.from({ length: 5 }, () =>
      runtime.start(spec, () => {}, new AbortController().signal)
    );
    const outcomes = await Promise.allSettled(starts);
    expect(engine.pulls).toBe(1);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(GatewayError);
      expect(reason).toMatchObject({
        code: 'image_unavailable',
        serverId: 'plain',
        message: expect.stringContaining('example/plain:1')
      });
      expect((reason as Error).message).toContain('manifest for example/plain:1 not found');
    }
    expect(engine.callsOf('createContainer')).toHaveLength(0);

    // Once the retry time has passed, the next start pulls again, and this time it works.
    await delay(120);
    await start(runtime, spec);
    expect(engine.pulls).toBe(2);
    expect(engine.callsOf('createContainer')).toHaveLength(1);
    expect(runtime.problemWith(spec)).toBeUndefined();
  });

  it('refuses starts without pulling again until the retry time, yet uses an image that appeared meanwhile at once', async () => {
    const { engine, runtime } = setup();
    engine.pullPlans = [{ events: [], ms: 5, error: new Error('manifest for example/plain:1 not found') }];
    const spec = specs().plain!;
    for (let i = 0; i < 3; i++) {
      await expect(runtime.start(spec, () => {}, new AbortController().signal)).rejects.toMatchObject({
        code: 'image_unavailable',
        message: expect.stringMatching(
          /manifest for example\/plain:1 not found.*docker pull example\/plain:1.*pulls it again at a call after/
        )
      });
    }
    expect(engine.pulls).toBe(1);
    expect(runtime.problemWith(spec)).toContain('manifest for example/plain:1 not found');

    // Someone pulls (or tags) the image on the engine: the next start uses it, with no pull.
    engine.images.set('example/plain:1', 'sha256:by-hand');
    await start(runtime, spec);
    expect(engine.pulls).toBe(1);
    expect(engine.callsOf('createContainer')).toHaveLength(1);
    expect(runtime.problemWith(spec)).toBeUndefined();
  });

  it('no longer reports a failed pull once a health check finds the image on the engine', async () => {
    const { engine, runtime, spec } = await withFailedPull();
    await runtime.health();
    expect(runtime.problemWith(spec)).toContain('manifest unknown');
    engine.images.set('example/plain:1', 'sha256:by-hand');
    await expect(runtime.health()).resolves.toEqual({ reachable: true });
    // The image check runs in the background after the ping.
    await expect.poll(() => runtime.problemWith(spec)).toBeUndefined();
  });

  it('fails the pull on an error event in the progress stream', async () => {
    const { engine, runtime } = setup();
    engine.pullPlans = [{ events: [{ error: 'toomanyrequests: rate limit reached' }], ms: 10 }];
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      {
        code: 'image_unavailable',
        message: expect.stringMatching(/example\/plain:1.*toomanyrequests/)
      }
    );
    expect(engine.callsOf('createContainer')).toHaveLength(0);
  });

  it('fails with image_unavailable when the engine refuses the pull request', async () => {
    const { engine, runtime } = setup();
    engine.pullPlans = [
      { events: [], ms: 0, reject: httpError(404, 'pull access denied for example/plain') }
    ];
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'image_unavailable', message: expect.stringContaining('example/plain:1') }
    );
  });

  it('creates no container when the start is aborted during the pull', async () => {
    const { engine, runtime } = setup();
    const controller = new AbortController();
    const starting = runtime.start(specs().plain!, () => {}, controller.signal);
    await delay(5);
    controller.abort();
    await expect(starting).rejects.toMatchObject({ code: 'server_unavailable', serverId: 'plain' });
    expect(engine.callsOf('createContainer')).toHaveLength(0);
  });
});

describe('DockerRuntime health, answered without waiting on a slow engine', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('answers healthNow at once from what is known while the engine hangs, pinging once at a time', async () => {
    const { engine, runtime } = setup();
    engine.pingBehaviour = 'hang';
    // Nothing has gone wrong yet: reachable, and the ping that will find out has begun.
    expect(runtime.healthNow()).toEqual({ reachable: true });
    expect(runtime.healthNow()).toEqual({ reachable: true });
    expect(engine.callsOf('ping')).toHaveLength(1);
    // Once the ping times out, the next answer says so, at once.
    await expect
      .poll(() => runtime.healthNow(), { timeout: 5_000 })
      .toEqual({ reachable: false, error: expect.stringContaining('timed out') });
  });

  it('answers a ping without waiting for the check of images whose pull failed, one check at a time', async () => {
    const { engine, runtime, spec } = await withFailedPull();
    const inspections = () => engine.callsOf('inspect').length;
    const before = inspections();
    engine.inspectHangs = true; // each inspection waits out its 5 s bound
    const waited = delay(1_000).then(() => 'waited for the image check');
    await expect(Promise.race([runtime.health(), waited])).resolves.toEqual({ reachable: true });
    await expect(Promise.race([runtime.health(), waited])).resolves.toEqual({ reachable: true });
    expect(inspections()).toBe(before + 1); // begun once, and joined rather than begun again
    expect(runtime.problemWith(spec)).toContain('manifest unknown');
  });
});

describe('DockerRuntime close', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('starts no ping, sweep or image check after close, even when a ping under way answers after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { engine, runtime, spec } = await withFailedPull();
    engine.pingBehaviour = socketError('ENOENT');
    await runtime.health();
    const answer = deferred<unknown>();
    engine.pingBehaviour = answer.promise;
    vi.setSystemTime(Date.now() + 10_000);
    expect(runtime.problemWith(spec)).toContain('unreachable'); // begins a ping in the background
    const pings = engine.callsOf('ping').length;
    const inspections = engine.callsOf('inspect').length;
    const lists = engine.callsOf('listContainers').length;

    runtime.close();
    answer.resolve('OK'); // the engine is back: a sweep and an image check would follow
    await delay(20);
    expect(runtime.healthNow()).toEqual({ reachable: true });
    await expect(runtime.health()).resolves.toEqual({ reachable: true });
    vi.setSystemTime(Date.now() + 10_000);
    expect(runtime.problemWith(spec)).toContain('manifest unknown');
    await runtime.sweep();
    await delay(20);
    expect(engine.callsOf('ping')).toHaveLength(pings);
    expect(engine.callsOf('listContainers')).toHaveLength(lists);
    expect(engine.callsOf('inspect')).toHaveLength(inspections);
  });

  it('bounds a ping with a timer that does not keep the process alive', () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const { engine, runtime } = setup();
    engine.pingBehaviour = 'hang';
    void runtime.health();
    const bound = timers.mock.results.at(-1)?.value as NodeJS.Timeout | undefined;
    expect(bound?.hasRef()).toBe(false);
  });
});

describe('DockerRuntime engine errors', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports every Docker server unable to run while a ping finds the engine unreachable, until it answers', async () => {
    const { engine, runtime } = setup();
    const spec = specs().plain!;
    expect(runtime.problemWith(spec)).toBeUndefined();
    engine.pingBehaviour = socketError('ENOENT');
    await expect(runtime.health()).resolves.toMatchObject({ reachable: false });
    expect(runtime.problemWith(spec)).toMatch(
      /^server plain: the Docker engine is unreachable \(connect ENOENT .*\); start it, or check DOCKER_HOST$/
    );
    expect(runtime.problemWith(specs().tuned!)).toContain('server tuned: the Docker engine is unreachable');
    engine.pingBehaviour = 'ok';
    await runtime.health();
    expect(runtime.problemWith(spec)).toBeUndefined();
  });

  it('reports the engine unreachable after a start finds it so, until a start reaches it', async () => {
    const { engine, runtime } = setup();
    const spec = specs().plain!;
    engine.inspectError = socketError('ECONNREFUSED');
    await expect(runtime.start(spec, () => {}, new AbortController().signal)).rejects.toMatchObject({
      code: 'engine_unreachable'
    });
    expect(runtime.problemWith(spec)).toContain('the Docker engine is unreachable (connect ECONNREFUSED');
    engine.inspectError = undefined;
    await start(runtime, spec);
    expect(runtime.problemWith(spec)).toBeUndefined();
  });

  it('pings a down engine again in the background when asked after a while, so the answer follows it back', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { engine, runtime } = setup();
    const spec = specs().plain!;
    engine.pingBehaviour = socketError('ENOENT');
    await runtime.health();
    engine.pingBehaviour = 'ok';
    const pings = () => engine.callsOf('ping').length;
    expect(runtime.problemWith(spec)).toBeDefined();
    expect(pings()).toBe(1); // asked at once: no ping yet
    vi.setSystemTime(Date.now() + 5_000);
    expect(runtime.problemWith(spec)).toBeDefined();
    expect(runtime.problemWith(spec)).toBeDefined();
    expect(pings()).toBe(2); // one ping, however many ask
    await vi.waitFor(() => expect(runtime.problemWith(spec)).toBeUndefined());
  });

  it.each(['ECONNREFUSED', 'ENOENT'])('reports %s from image inspect as engine_unreachable', async code => {
    const { engine, runtime } = setup();
    engine.inspectError = socketError(code);
    const starting = runtime.start(specs().plain!, () => {}, new AbortController().signal);
    await expect(starting).rejects.toBeInstanceOf(GatewayError);
    await expect(starting).rejects.toMatchObject({
      code: 'engine_unreachable',
      serverId: 'plain',
      message: expect.stringContaining(code)
    });
    expect(engine.pulls).toBe(0);
  });

  it.each(['ECONNREFUSED', 'ENOENT'])('reports %s from createContainer as engine_unreachable', async code => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.createError = socketError(code);
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'engine_unreachable', serverId: 'plain' }
    );
  });

  it('tries the engine again on the next start after it was unreachable', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.inspectError = socketError('ECONNREFUSED');
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'engine_unreachable' }
    );
    engine.inspectError = undefined;
    await start(runtime, specs().plain!);
    expect(engine.callsOf('createContainer')).toHaveLength(1);
  });

  it('reports another engine error from createContainer as start_failed', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.createError = httpError(409, 'Conflict. The container name is already in use');
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'start_failed', serverId: 'plain', message: expect.stringContaining('Conflict') }
    );
  });

  it('removes the container when it fails to start', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.onCreate = container => (container.startError = httpError(500, 'OCI runtime create failed'));
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'start_failed', message: expect.stringContaining('OCI runtime create failed') }
    );
    const id = engine.containers[0]!.id;
    expect(engine.callsOf('remove')).toEqual([{ method: 'remove', target: id, args: { force: true } }]);
  });

  /** Runs `body`, collecting the unhandled rejections (each of which would crash the gateway). */
  async function collectUnhandled(body: () => Promise<void>): Promise<unknown[]> {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await body();
      await delay(50);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    return unhandled;
  }

  it('survives the engine dropping the wait when the start fails (no unhandled rejection)', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.onCreate = container => {
      container.startError = socketError('ECONNRESET');
      container.waitErrorDuringStart = socketError('ECONNRESET');
    };
    const unhandled = await collectUnhandled(async () => {
      await expect(
        runtime.start(specs().plain!, () => {}, new AbortController().signal)
      ).rejects.toMatchObject({ code: 'engine_unreachable' });
    });
    expect(unhandled).toEqual([]);
  });

  it('survives the wait failing while the container is starting (no unhandled rejection)', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    engine.onCreate = container => (container.waitErrorDuringStart = socketError('ECONNRESET'));
    let server: ServerProcess | undefined;
    const unhandled = await collectUnhandled(async () => {
      server = await start(runtime, specs().plain!);
    });
    expect(unhandled).toEqual([]);
    await expect(server!.exited).resolves.toMatchObject({
      reason: expect.stringContaining('ECONNRESET'),
      requested: false
    });
  });
});

describe('DockerRuntime container options', () => {
  it('creates a confined container with the default limits', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    await start(runtime, specs().plain!);
    const options = engine.containers[0]!.options!;
    expect(options).toMatchObject({
      Image: 'example/plain:1',
      Env: [],
      Labels: { [MANAGED_LABEL]: 'true', [SERVER_LABEL]: 'plain', [OWNER_LABEL]: OWNER },
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: false,
      Tty: false
    });
    expect(options.HostConfig).toEqual({
      Init: true,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 512 * 1024 * 1024,
      NanoCpus: 1_000_000_000,
      PidsLimit: 256,
      Binds: [],
      ReadonlyRootfs: false
    });
    expect(options).not.toHaveProperty('Cmd');
    expect(options).not.toHaveProperty('User');
  });

  it('applies every override from the config', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/tuned:2', 'sha256:present');
    await start(runtime, specs().tuned!);
    const options = engine.containers[0]!.options!;
    expect(options).toMatchObject({
      Image: 'example/tuned:2',
      Cmd: ['node', 'server.js', '--verbose'],
      Env: ['TOKEN=secret-token', 'LEVEL=3'],
      User: '1000:1000',
      Labels: { [MANAGED_LABEL]: 'true', [SERVER_LABEL]: 'tuned', [OWNER_LABEL]: OWNER },
      OpenStdin: true,
      Tty: false
    });
    expect(options.HostConfig).toEqual({
      Init: true,
      NetworkMode: 'bridge',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 1024 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 64,
      Binds: ['/srv/gateway/data:/data:ro', '/var/cache/tool:/cache:rw'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' }
    });
  });
});

describe('DockerRuntime container stdio', () => {
  it('attaches (and waits) before starting the container', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    await start(runtime, specs().plain!);
    const order = engine.calls.map(c => c.method);
    expect(order.indexOf('attach')).toBeGreaterThan(order.indexOf('createContainer'));
    expect(order.indexOf('attach')).toBeLessThan(order.indexOf('start'));
    expect(order.indexOf('wait')).toBeLessThan(order.indexOf('start'));
    expect(order.indexOf('demuxStream')).toBeLessThan(order.indexOf('start'));
    expect(engine.callsOf('attach')[0]!.args).toMatchObject({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true
    });
    expect(engine.callsOf('wait')[0]!.args).toEqual({ condition: 'next-exit' });
  });

  it('delivers stdout to the process, stderr lines to the sink, and stdin to the container', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    const stderr: string[] = [];
    const server = await start(runtime, specs().plain!, stderr);
    const container = engine.containers[0]!;
    expect(server.label).toBe(`container ${container.id.slice(0, 12)}`);

    const reading = readUntil(server.stdout, text => text.includes('"id":2'));
    container.stream.emitOutput(STDOUT, '{"jsonrpc":"2.0","id":1,"result":{}}\n');
    container.stream.emitOutput(STDERR, 'warming up\nhalf a ');
    container.stream.emitOutput(STDOUT, '{"jsonrpc":"2.0","id":2,"result":{}}\n');
    container.stream.emitOutput(STDERR, 'line\n');
    const text = await reading;
    expect(text).toBe('{"jsonrpc":"2.0","id":1,"result":{}}\n{"jsonrpc":"2.0","id":2,"result":{}}\n');
    await expect.poll(() => stderr).toEqual(['warming up', 'half a line']);

    server.stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await expect.poll(() => container.stream.stdinText).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
  });

  it('ends stdout and flushes a final stderr line when the container output ends', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    const stderr: string[] = [];
    const server = await start(runtime, specs().plain!, stderr);
    const ended = new Promise<void>(resolve => server.stdout.once('end', resolve));
    server.stdout.resume();
    engine.containers[0]!.stream.emitOutput(STDERR, 'fatal: no config');
    engine.containers[0]!.crash(1);
    await ended;
    await expect.poll(() => stderr).toEqual(['fatal: no config']);
  });
});

describe('DockerRuntime stop and exit', () => {
  async function running() {
    const context = setup();
    context.engine.images.set('example/plain:1', 'sha256:present');
    const server = await start(context.runtime, specs().plain!);
    return { ...context, server, container: context.engine.containers[0]! };
  }

  it('stops then removes the container, once however often stop() is called', async () => {
    const { engine, server, container } = await running();
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    const lifecycle = engine.calls.filter(c => c.method === 'stop' || c.method === 'remove');
    expect(lifecycle).toEqual([
      { method: 'stop', target: container.id, args: { t: 3 } },
      { method: 'remove', target: container.id, args: { force: true } }
    ]);
    expect(engine.removed).toEqual([container.id]);
    expect(container.stream.writableEnded).toBe(true); // stdin was closed first
  });

  it('tolerates a container that is already gone (404 on remove) without a warning', async () => {
    const { server, container, lines } = await running();
    container.removeError = httpError(404, 'No such container');
    await expect(server.stop()).resolves.toBeUndefined();
    expect(lines.filter(l => l.level >= 40)).toEqual([]);
  });

  it('warns but still resolves when removal fails for another reason', async () => {
    const { server, container, lines } = await running();
    container.removeError = httpError(500, 'driver failed');
    await expect(server.stop()).resolves.toBeUndefined();
    expect(lines.find(l => l.msg === 'container removal failed')).toMatchObject({
      level: 40,
      err: 'driver failed'
    });
  });

  it('resolves exited with requested: false when the container ends on its own', async () => {
    const { server, container } = await running();
    container.crash(1);
    await expect(server.exited).resolves.toEqual({ reason: 'exit code 1', requested: false });
  });

  it('resolves exited with requested: true after stop()', async () => {
    const { server } = await running();
    await server.stop();
    await expect(server.exited).resolves.toEqual({ reason: 'exit code 143', requested: true });
  });

  it('resolves exited (never rejects) when the wait itself fails', async () => {
    const { server, container } = await running();
    container.state = socketError('ECONNRESET');
    container.exit.reject(socketError('ECONNRESET'));
    await expect(server.exited).resolves.toEqual({
      reason: expect.stringMatching(/^lost contact with the Docker engine: .*ECONNRESET/),
      requested: false,
      engineLost: true
    });
  });

  it('counts the output ending as the exit when the engine never answers the wait (a killed engine)', async () => {
    const { server, container } = await running();
    container.state = socketError('ECONNREFUSED');
    const began = performance.now();
    container.stream.endOutput(); // the wait stays pending, as it does when dockerd is killed
    await expect(server.exited).resolves.toEqual({
      reason: 'lost contact with the Docker engine: its output stream ended',
      requested: false,
      engineLost: true
    });
    expect(performance.now() - began).toBeLessThan(3_000);
  });

  it('ends stdout only once the exit is known, so a reader at the end finds the reason', async () => {
    const { server, container } = await running();
    let exitKnown = false;
    void server.exited.then(() => (exitKnown = true));
    const endedAfterExit = new Promise<boolean>(resolve =>
      server.stdout.once('end', () => resolve(exitKnown))
    );
    server.stdout.resume();
    // The output ends first and the engine reports the exit a moment later, as it does.
    container.state = { Running: false, ExitCode: 1, OOMKilled: false };
    container.stream.endOutput();
    setTimeout(() => container.exit.resolve({ StatusCode: 1 }), 50);
    await expect(endedAfterExit).resolves.toBe(true);
    await expect(server.exited).resolves.toEqual({ reason: 'exit code 1', requested: false });
  });

  it('says the container ran out of memory, and names the memory key, when the engine reports an OOM kill', async () => {
    const { server, container } = await running();
    container.crash(137, true);
    const exit = await server.exited;
    expect(exit.requested).toBe(false);
    expect(exit.reason).toMatch(/^out of memory: .*512 MiB.*`memory` for plain in servers\.yaml/);
  });

  it('reports a SIGKILL that was not an OOM kill as its exit code', async () => {
    const { server, container } = await running();
    container.crash(137, false);
    await expect(server.exited).resolves.toEqual({ reason: 'exit code 137', requested: false });
  });

  it('does not hang stop() when the engine is gone', async () => {
    const { server, container } = await running();
    container.state = socketError('ECONNREFUSED');
    container.stop = () => Promise.reject(socketError('ECONNREFUSED'));
    container.removeError = socketError('ECONNREFUSED');
    container.stream.endOutput();
    await expect(server.stop()).resolves.toBeUndefined();
    await expect(server.exited).resolves.toMatchObject({ requested: true });
  });
});

describe('DockerRuntime housekeeping', () => {
  it('removes leftovers of this owner only, each with force', async () => {
    const { engine, runtime, lines } = setup();
    engine.listed = [
      { Id: 'a'.repeat(64), Labels: { [SERVER_LABEL]: 'one' } },
      { Id: 'b'.repeat(64), Labels: { [SERVER_LABEL]: 'two' } }
    ];
    await expect(runtime.removeLeftovers()).resolves.toBe(2);
    expect(engine.callsOf('listContainers')).toEqual([
      {
        method: 'listContainers',
        target: undefined,
        args: { all: true, filters: { label: [`${MANAGED_LABEL}=true`, `${OWNER_LABEL}=${OWNER}`] } }
      }
    ]);
    expect(engine.callsOf('remove')).toEqual([
      { method: 'remove', target: 'a'.repeat(64), args: { force: true } },
      { method: 'remove', target: 'b'.repeat(64), args: { force: true } }
    ]);
    expect(lines.filter(l => l.msg === 'removed a leftover container').map(l => l.server)).toEqual([
      'one',
      'two'
    ]);
  });

  it('sweeps again on the next start once the engine was unreachable, sparing running containers', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    await start(runtime, specs().plain!); // the first start sweeps (nothing there)
    const alive = engine.containers[0]!;
    await start(runtime, specs().plain!);
    expect(engine.callsOf('listContainers')).toHaveLength(1); // no sweep while the engine answers

    engine.inspectError = socketError('ECONNREFUSED');
    await expect(runtime.start(specs().plain!, () => {}, new AbortController().signal)).rejects.toMatchObject(
      { code: 'engine_unreachable', message: expect.stringContaining('server plain') }
    );
    engine.inspectError = undefined;
    engine.listed = [
      { Id: alive.id, Labels: { [SERVER_LABEL]: 'plain' } },
      { Id: 'd'.repeat(64), Labels: { [SERVER_LABEL]: 'plain' } }
    ];
    await start(runtime, specs().plain!);
    await expect.poll(() => engine.callsOf('remove').map(call => call.target)).toEqual(['d'.repeat(64)]);
    expect(engine.callsOf('listContainers')).toHaveLength(2);
  });

  it('a listing that hangs stops neither the sweep nor a start: sweep() resolves after its bound', async () => {
    const { engine, runtime } = setup({ sweepRequestTimeoutMs: 300 });
    engine.images.set('example/plain:1', 'sha256:present');
    engine.listHangs = true;
    const began = performance.now();
    await start(runtime, specs().plain!);
    expect(performance.now() - began).toBeLessThan(250);
    await expect(runtime.sweep()).resolves.toBeUndefined();
    expect(performance.now() - began).toBeLessThan(1_000);
    // Still needed: the next one tries again.
    engine.listHangs = false;
    await runtime.sweep();
    expect(engine.callsOf('listContainers')).toHaveLength(2);
  });

  it('a removal that hangs is bounded, and does not hold up starts', async () => {
    const { engine, runtime, lines } = setup({ sweepRequestTimeoutMs: 300 });
    engine.images.set('example/plain:1', 'sha256:present');
    engine.listed = [{ Id: 'f'.repeat(64), Labels: { [SERVER_LABEL]: 'one' } }];
    engine.removeHangs = true;
    const sweep = runtime.sweep();
    const began = performance.now();
    await start(runtime, specs().plain!);
    expect(performance.now() - began).toBeLessThan(250);
    await expect(sweep).resolves.toBeUndefined();
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(lines.find(line => line.msg === 'could not remove a leftover container')).toMatchObject({
      err: expect.stringContaining('timed out')
    });
    engine.removeHangs = false; // the started container's own removal, at cleanup
  });

  it('leaves alone a container whose creation is still on its way back (a start in progress)', async () => {
    const { engine, runtime } = setup();
    engine.images.set('example/plain:1', 'sha256:present');
    await runtime.removeLeftovers();
    engine.createDelayMs = 50;
    const starting = start(runtime, specs().plain!);
    await delay(10); // the engine has made it; its id has not come back yet
    engine.listed = [{ Id: 'c1'.padEnd(64, '0'), Labels: { [SERVER_LABEL]: 'plain' } }];
    await expect(runtime.removeLeftovers()).resolves.toBe(0);
    await starting;
    expect(engine.callsOf('remove')).toEqual([]);
  });

  it('sweeps when a health check finds the engine back after it was unreachable', async () => {
    const { engine, runtime } = setup();
    await runtime.removeLeftovers();
    engine.pingBehaviour = socketError('ECONNREFUSED');
    await runtime.health();
    engine.pingBehaviour = 'ok';
    engine.listed = [{ Id: 'e'.repeat(64), Labels: { [SERVER_LABEL]: 'one' } }];
    await expect(runtime.health()).resolves.toEqual({ reachable: true });
    await expect.poll(() => engine.callsOf('remove').map(call => call.target)).toEqual(['e'.repeat(64)]);
    await runtime.health();
    expect(engine.callsOf('listContainers')).toHaveLength(2);
  });

  it('returns 0 when nothing was left behind', async () => {
    const { engine, runtime } = setup();
    await expect(runtime.removeLeftovers()).resolves.toBe(0);
    expect(engine.callsOf('remove')).toEqual([]);
  });

  it('identifies an image by its id, or not at all', async () => {
    const { engine, runtime } = setup();
    const all = specs();
    engine.images.set('example/plain:1', 'sha256:abc123');
    await expect(runtime.identify(all.plain!)).resolves.toBe('sha256:abc123');
    await expect(runtime.identify(all.tuned!)).resolves.toBeUndefined(); // not present: 404
    engine.inspectError = socketError('ECONNREFUSED');
    await expect(runtime.identify(all.plain!)).resolves.toBeUndefined();
  });

  it('gives up identifying when the engine does not answer', async () => {
    const { engine, runtime } = setup();
    engine.inspectHangs = true;
    const began = performance.now();
    await expect(runtime.identify(specs().plain!)).resolves.toBeUndefined();
    expect(performance.now() - began).toBeLessThan(4_000);
  });

  it('reports the engine reachable when ping answers', async () => {
    const { runtime } = setup();
    await expect(runtime.health()).resolves.toEqual({ reachable: true });
  });

  it('reports the engine unreachable when ping fails', async () => {
    const { engine, runtime } = setup();
    engine.pingBehaviour = socketError('ECONNREFUSED');
    await expect(runtime.health()).resolves.toEqual({
      reachable: false,
      error: 'connect ECONNREFUSED /var/run/docker.sock'
    });
  });

  it('reports the engine unreachable within a few seconds when ping never answers', async () => {
    const { engine, runtime } = setup();
    engine.pingBehaviour = 'hang';
    const began = performance.now();
    const health = await runtime.health();
    expect(performance.now() - began).toBeLessThan(4_000);
    expect(health).toEqual({ reachable: false, error: expect.stringContaining('timed out') });
  });
});
