import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { DockerSpec } from '../config/server-spec.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { deferModule } from './defer-module.js';
import { forEachLine } from './line-splitter.js';
import type { ExitInfo, Runtime, ServerProcess, StderrSink } from './runtime.js';

/**
 * dockerode, loaded when first needed (a CommonJS package, so synchronously). Two of its modules
 * are loaded only when called: BuildKit sessions (gRPC and protobuf: image builds with
 * credentials, which the gateway never asks for) and SSH connections (ssh2: `DOCKER_HOST=ssh://`).
 * Together they are most of dockerode's idle memory.
 */
export function loadDockerode(): typeof Docker {
  const require = createRequire(import.meta.url);
  const fromDockerode = createRequire(require.resolve('dockerode'));
  deferModule(fromDockerode, fromDockerode.resolve('./session'));
  deferModule(fromDockerode, createRequire(fromDockerode.resolve('docker-modem')).resolve('./ssh'));
  return require('dockerode') as typeof Docker;
}

/** Every container the gateway creates carries these labels. */
export const MANAGED_LABEL = 'io.mcp-gateway.managed';
export const SERVER_LABEL = 'io.mcp-gateway.server';
/** Which gateway (by state directory) made the container, so gateways sharing an engine leave each other's alone. */
export const OWNER_LABEL = 'io.mcp-gateway.owner';

/** Seconds a container gets between SIGTERM and SIGKILL on stop. */
const STOP_GRACE_SECONDS = 3;
/** How long an engine ping may take before the engine counts as unreachable. */
const PING_TIMEOUT_MS = 2_000;
/**
 * How long after the attach stream ends the engine's wait gets to report the exit code. A live
 * engine reports it within milliseconds; one that was killed never does (the wait request's body
 * never comes), so the stream's end alone has to count as the exit.
 */
const EXIT_CODE_GRACE_MS = 1_000;
/** Bound on each housekeeping request (stop beyond its grace, remove, list): a dead engine must not hang them. */
const ENGINE_REQUEST_TIMEOUT_MS = 5_000;
/**
 * After a pull of an image fails, starts that need it are refused without pulling for this long, so
 * a missing image does not send a pull to the registry with every call. An image that appears on
 * the engine meanwhile (pulled or built by hand) is used at once: each start looks for it first.
 */
export const PULL_RETRY_MS = 30_000;
/** While the engine is seen unreachable, asking what keeps a server from running pings it at most this often. */
const ENGINE_RECHECK_MS = 5_000;

export interface DockerRuntimeOptions {
  /** The engine client; by default the local engine or `DOCKER_HOST`. */
  readonly docker?: Docker;
  /** Identifies this gateway's containers among others on the engine (a hash of its state directory). */
  readonly owner: string;
  readonly log: Logger;
  /** Bound on each request of a leftover sweep (list, each removal); tests shorten it. */
  readonly sweepRequestTimeoutMs?: number;
  /** How long after a failed pull the image is pulled again (default {@link PULL_RETRY_MS}); tests shorten it. */
  readonly pullRetryMs?: number;
}

/** What `/healthz` reports about the engine. */
export interface EngineHealth {
  readonly reachable: boolean;
  readonly error?: string;
}

/**
 * Runs servers as Docker containers over attached stdio. The only module that talks to Docker.
 *
 * Each start creates a container (stdin open, no TTY, confined by the spec's limits), attaches
 * before starting it so no output is lost, splits the engine's multiplexed stream into stdout and
 * stderr, and hands the streams to the caller. `stop()` stops and removes the container; a
 * container that dies is removed the same way by its owner's `stop()`.
 */
export class DockerRuntime implements Runtime<DockerSpec> {
  readonly kind = 'docker' as const;
  private client: Docker | undefined;
  private readonly log: Logger;
  /** One pull per image at a time, shared by everyone who needs it. */
  private readonly pulls = new Map<string, Promise<void>>();
  /** Why the last pull of each image failed and when it may be pulled again, until it is on the engine. */
  private readonly failedPulls = new Map<string, { readonly failure: string; readonly retryAt: number }>();
  /** The engine's error and when it was seen, while it was last seen unreachable (by a ping or a start). */
  private engineDown: { readonly error: string; readonly at: number } | undefined;
  /** The ping under way ({@link health}), joined by whoever asks meanwhile: one at a time. */
  private pinging: Promise<EngineHealth> | undefined;
  /** The check for images that appeared since their pull failed, while it runs: one at a time. */
  private forgetting: Promise<void> | undefined;
  /** Set by {@link close}: no background engine work starts after it. */
  private closed = false;
  /** Containers this runtime runs now (by id): a sweep must leave them alone. */
  private readonly live = new Set<string>();
  /** Container creations on their way to the engine, whose containers are not in `live` yet. */
  private readonly creating = new Set<Promise<unknown>>();
  /**
   * Whether leftovers may exist that no sweep has removed: true at first, and again whenever the
   * engine was seen unreachable (a dead engine leaves its containers behind).
   */
  private sweepNeeded = true;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.log = options.log.child({ component: 'docker' });
  }

  /**
   * The engine client, made on first use: dockerode is loaded only by a gateway that has a Docker
   * server to run or check.
   */
  private get docker(): Docker {
    this.client ??= this.options.docker ?? new (loadDockerode())();
    return this.client;
  }

  /** A stable owner id for a state directory. */
  static ownerFor(stateDir: string): string {
    return createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
  }

  /**
   * Pings the engine now (bounded by {@link PING_TIMEOUT_MS}), joining a ping already under way.
   * When it answers, leftovers are swept if the engine was unreachable since the last sweep, and
   * images whose pull failed and that are on the engine now stop being reported by
   * {@link problemWith}: both in the background, so the answer never waits on them. Never rejects.
   * After {@link close} nothing is sent: the answer is what was last seen.
   */
  health(): Promise<EngineHealth> {
    if (this.closed) return Promise.resolve(this.lastSeen());
    this.pinging ??= this.ping().finally(() => (this.pinging = undefined));
    return this.pinging;
  }

  /**
   * What the last ping or start found, at once; a ping (see {@link health}) is begun in the
   * background, one at a time, so the next answer follows the engine. For `/healthz`, which must
   * answer within the image's HEALTHCHECK timeout however slow or stopped the engine is.
   */
  healthNow(): EngineHealth {
    void this.health();
    return this.lastSeen();
  }

  /**
   * Begins nothing more: no ping, sweep or image check starts after this, and one under way is
   * left to end on its own (each is bounded, and their timers do not keep the process alive).
   * Containers are stopped by their owners, not here.
   */
  close(): void {
    this.closed = true;
  }

  private lastSeen(): EngineHealth {
    return this.engineDown === undefined
      ? { reachable: true }
      : { reachable: false, error: this.engineDown.error };
  }

  private async ping(): Promise<EngineHealth> {
    try {
      await withTimeout(this.docker.ping(), PING_TIMEOUT_MS, 'ping timed out');
    } catch (error) {
      this.sweepNeeded = true;
      this.engineDown = { error: describeError(error), at: Date.now() };
      return this.lastSeen();
    }
    this.engineDown = undefined;
    void this.sweep();
    void this.forgetImagesPresent();
    return { reachable: true };
  }

  /**
   * Why `spec` cannot run now, with what to do, or undefined: the engine was last seen unreachable
   * (until it answers again), or its image's last pull failed (until a pull succeeds or the image
   * appears on the engine). While the engine is down, asking pings it in the background now and
   * then, so the answer follows the engine back even when nothing else asks.
   */
  problemWith(spec: DockerSpec): string | undefined {
    if (this.engineDown !== undefined) {
      if (Date.now() - this.engineDown.at >= ENGINE_RECHECK_MS) void this.health();
      return engineAdvice(spec.id, this.engineDown.error);
    }
    const failed = this.failedPulls.get(spec.image);
    return failed === undefined ? undefined : imageAdvice(spec, failed);
  }

  /**
   * Forgets the failed pulls of images that are on the engine now (pulled or built by hand), joining
   * a check already under way. Never rejects; each inspection is bounded.
   */
  private forgetImagesPresent(): Promise<void> {
    if (this.closed || this.failedPulls.size === 0) return Promise.resolve();
    this.forgetting ??= Promise.all(
      [...this.failedPulls.keys()].map(image =>
        withTimeout(
          this.docker.getImage(image).inspect(),
          ENGINE_REQUEST_TIMEOUT_MS,
          'inspect timed out'
        ).then(
          () => this.failedPulls.delete(image),
          () => undefined // still missing, or no answer in time: the failure stands
        )
      )
    )
      .then(() => undefined)
      .finally(() => (this.forgetting = undefined));
    return this.forgetting;
  }

  /**
   * Removes leftovers if none has been done since the engine was last seen unreachable, joining a
   * sweep already under way. Never rejects, and each engine request in it is bounded: an engine
   * that is down or hangs is left for the next time.
   */
  sweep(): Promise<void> {
    if (!this.sweepNeeded || this.closed) return Promise.resolve();
    this.sweeping ??= this.removeLeftovers()
      .then(
        () => undefined,
        (error: unknown) => {
          this.log.debug({ err: describeError(error) }, 'could not sweep leftover containers yet');
        }
      )
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * Removes containers this gateway left behind (a crash, a kill -9, an engine that died under
   * them), except the ones it runs now. Returns how many. Rejects when the engine does not answer
   * in time; {@link sweep} is the entry point that never does.
   */
  async removeLeftovers(): Promise<number> {
    const timeoutMs = this.options.sweepRequestTimeoutMs ?? ENGINE_REQUEST_TIMEOUT_MS;
    const listed = await withTimeout(
      this.docker.listContainers({
        all: true,
        filters: { label: [`${MANAGED_LABEL}=true`, `${OWNER_LABEL}=${this.options.owner}`] }
      }),
      timeoutMs,
      'listing containers timed out'
    );
    // The list may hold a container whose creation has not come back to us yet: it is a start of
    // ours, not a leftover, and is in `live` once those creations settle. Creations that do not
    // settle in time leave the whole sweep for later rather than risk removing a start's container.
    await withTimeout(Promise.allSettled(this.creating), timeoutMs, 'container creations still pending');
    const leftovers = listed.filter(info => !this.live.has(info.Id));
    this.sweepNeeded = false;
    const removed = await Promise.all(
      leftovers.map(async info => {
        const fields = { container: info.Id.slice(0, 12), server: info.Labels[SERVER_LABEL] };
        try {
          await withTimeout(
            this.docker.getContainer(info.Id).remove({ force: true }),
            timeoutMs,
            'removing the container timed out'
          );
          this.log.info(fields, 'removed a leftover container');
          return true;
        } catch (error) {
          if (statusOf(error) === 404) return false; // gone already
          this.sweepNeeded = true; // tried again on the next start or health check
          this.log.warn({ ...fields, err: describeError(error) }, 'could not remove a leftover container');
          return false;
        }
      })
    );
    return removed.filter(Boolean).length;
  }

  async identify(spec: DockerSpec): Promise<string | undefined> {
    try {
      const image = await withTimeout(
        this.docker.getImage(spec.image).inspect(),
        PING_TIMEOUT_MS,
        'timed out'
      );
      return image.Id;
    } catch {
      return undefined; // missing image or no engine: nothing to add yet
    }
  }

  async start(spec: DockerSpec, stderr: StderrSink, signal: AbortSignal): Promise<ServerProcess> {
    const { image, limits } = spec;
    try {
      // Not awaited: a sweep is bounded but may be slow, and a start needs nothing from it (the
      // containers it makes are spared, see removeLeftovers).
      void this.sweep();
      await this.ensureImage(image, spec.id);
      if (signal.aborted)
        throw new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: spec.id });
      const creation = this.docker.createContainer({
        Image: image,
        ...(spec.command ? { Cmd: [...spec.command] } : {}),
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Labels: { [MANAGED_LABEL]: 'true', [SERVER_LABEL]: spec.id, [OWNER_LABEL]: this.options.owner },
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: true,
        StdinOnce: false,
        Tty: false,
        ...(limits.user ? { User: limits.user } : {}),
        HostConfig: {
          // An init process as PID 1 passes SIGTERM on and reaps: a Node or Python server as PID 1
          // ignores SIGTERM, and every stop would wait out the grace and end in SIGKILL.
          Init: true,
          NetworkMode: limits.network,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          Memory: limits.memoryBytes,
          NanoCpus: Math.round(limits.cpus * 1e9),
          PidsLimit: limits.pids,
          Binds: [...limits.binds],
          ReadonlyRootfs: limits.readOnly,
          ...(limits.readOnly ? { Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' } } : {})
        }
      });
      const registered = creation.then(container => {
        this.live.add(container.id);
        return container;
      });
      this.creating.add(registered);
      const container = await registered.finally(() => this.creating.delete(registered));
      try {
        return await this.attachAndStart(container, spec, stderr);
      } catch (error) {
        this.live.delete(container.id);
        await container.remove({ force: true }).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw this.startError(error, spec);
    }
  }

  private async attachAndStart(
    container: Docker.Container,
    spec: DockerSpec,
    stderr: StderrSink
  ): Promise<ServerProcess> {
    // Attach and wait before start: output from the first instant is captured, and the exit is
    // seen even if the container dies at once.
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true
    })) as Duplex;
    const exitCode = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    // Handled from the start: the wait can fail (engine gone) before or during start(), long
    // before the Container below looks at it.
    exitCode.catch(() => undefined);
    const stdout = new PassThrough();
    const errors = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, errors);
    // The stream ends when the container's output does, and also when the engine dies: an error
    // or a close without an end counts the same.
    const streamEnded = new Promise<void>(resolve => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.on('error', () => resolve());
    });
    forEachLine(errors, stderr);
    // The caller writes to a stream of ours, not to the engine's socket: the socket closing is
    // not the exit (that is decided from the wait and the stream's end together), and the caller
    // must not take it for one before the reason is known.
    const stdin = new Writable({
      // A write to a dead container goes nowhere; the exit reports why.
      write: (chunk: Buffer, _encoding, callback) => void stream.write(chunk, () => callback()),
      final: callback => {
        stream.end();
        callback();
      }
    });
    await container.start();
    const process = new Container(container, stream, stdin, stdout, {
      exitCode,
      streamEnded,
      memoryBytes: spec.limits.memoryBytes,
      serverId: spec.id,
      log: this.log,
      onEngineLost: () => (this.sweepNeeded = true),
      onGone: () => this.live.delete(container.id)
    });
    // stdout ends only once the exit is known, so whoever reads it to its end finds the reason
    // (an OOM kill, a lost engine) in `exited`, not a bare closed connection.
    void process.exited.then(() => {
      stdout.end();
      errors.end();
    });
    return process;
  }

  /** Makes sure `image` is present, pulling it once however many starts wait on it. */
  private ensureImage(image: string, serverId: string): Promise<void> {
    let pull = this.pulls.get(image);
    if (!pull) {
      pull = this.pullIfMissing(image, serverId).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    return pull;
  }

  private async pullIfMissing(image: string, serverId: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      this.engineDown = undefined;
      this.failedPulls.delete(image); // made on the engine by hand since
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      this.engineDown = undefined;
    }
    const failed = this.failedPulls.get(image);
    if (failed !== undefined && Date.now() < failed.retryAt)
      throw new GatewayError('image_unavailable', imageAdvice({ id: serverId, image }, failed), { serverId });
    const log = this.log.child({ image, server: serverId });
    log.info('pulling image');
    const began = performance.now();
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        const layers = new Map<string, { current: number; total: number }>();
        let lastReport = 0;
        this.docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: {
            id?: string;
            status?: string;
            error?: string;
            progressDetail?: { current?: number; total?: number };
          }) => {
            if (event.error) {
              reject(new Error(event.error));
              return;
            }
            if (event.id && event.progressDetail?.total) {
              layers.set(event.id, {
                current: event.progressDetail.current ?? 0,
                total: event.progressDetail.total
              });
            }
            const now = performance.now();
            if (now - lastReport > 1_000) {
              lastReport = now;
              const sum = [...layers.values()].reduce(
                (a, l) => ({ current: a.current + l.current, total: a.total + l.total }),
                {
                  current: 0,
                  total: 0
                }
              );
              log.info({ layers: layers.size, bytes: sum.current, totalBytes: sum.total }, 'pull progress');
            }
          }
        );
      });
    } catch (error) {
      const failed = {
        failure: `image ${image} could not be pulled: ${describeError(error).trim()}`,
        retryAt: Date.now() + (this.options.pullRetryMs ?? PULL_RETRY_MS)
      };
      this.failedPulls.set(image, failed);
      throw new GatewayError('image_unavailable', imageAdvice({ id: serverId, image }, failed), {
        cause: error,
        serverId
      });
    }
    this.failedPulls.delete(image);
    log.info({ ms: Math.round(performance.now() - began) }, 'image pulled');
  }

  private startError(error: unknown, spec: DockerSpec): GatewayError {
    if (error instanceof GatewayError) return error;
    if (isEngineDown(error)) {
      this.sweepNeeded = true;
      this.engineDown = { error: describeError(error), at: Date.now() };
      return new GatewayError('engine_unreachable', engineAdvice(spec.id, this.engineDown.error), {
        cause: error,
        serverId: spec.id
      });
    }
    return new GatewayError(
      'start_failed',
      `server ${spec.id}: container failed to start: ${describeError(error)}`,
      {
        cause: error,
        serverId: spec.id
      }
    );
  }
}

interface ContainerOptions {
  /** The engine's wait for the exit; never settles if the engine dies first. */
  readonly exitCode: Promise<{ StatusCode: number }>;
  /** Resolves when the attach stream ends, errs or closes. */
  readonly streamEnded: Promise<void>;
  readonly memoryBytes: number;
  readonly serverId: string;
  readonly log: Logger;
  /** Called when the exit was decided without the engine: it may have left containers behind. */
  readonly onEngineLost: () => void;
  /** Called once the container is stopped and removed, or given up on. */
  readonly onGone: () => void;
}

class Container implements ServerProcess {
  readonly exited: Promise<ExitInfo>;
  readonly label: string;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly container: Docker.Container,
    private readonly attached: Duplex,
    readonly stdin: Writable,
    readonly stdout: PassThrough,
    private readonly options: ContainerOptions
  ) {
    this.label = `container ${container.id.slice(0, 12)}`;
    this.log = options.log;
    attached.on('error', () => {}); // a write to a dead container fails; the exit reports it
    this.exited = this.exitOf().catch((error: unknown) =>
      this.exitInfo(`container lost: ${describeError(error)}`)
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  /**
   * The exit, decided by the engine's wait or by the attach stream's end, whichever is first: a
   * killed engine ends the stream but never answers the wait. An exit nobody asked for is looked
   * up once more, to tell an out-of-memory kill from any other SIGKILL.
   */
  private async exitOf(): Promise<ExitInfo> {
    let waitError: unknown;
    const waited = this.options.exitCode.then(
      ({ StatusCode }) => StatusCode,
      (error: unknown) => {
        waitError = error;
        return undefined;
      }
    );
    const code = await Promise.race([
      waited,
      this.options.streamEnded.then(() => settledWithin(waited, EXIT_CODE_GRACE_MS))
    ]);
    if (this.stopRequested)
      return this.exitInfo(code === undefined ? 'container stopped' : `exit code ${code}`);
    const state = await withTimeout(this.container.inspect(), PING_TIMEOUT_MS, 'inspect timed out').then(
      info => info.State,
      () => undefined
    );
    if (state?.OOMKilled) {
      const limit = `${Math.round(this.options.memoryBytes / 2 ** 20)} MiB`;
      return this.exitInfo(
        `out of memory: it used its whole memory limit of ${limit} and was killed; raise \`memory\` for ${this.options.serverId} in servers.yaml`
      );
    }
    if (code !== undefined) return this.exitInfo(`exit code ${code}`);
    if (state && !state.Running) return this.exitInfo(`exit code ${state.ExitCode}`);
    this.options.onEngineLost();
    const why = waitError === undefined ? 'its output stream ended' : describeError(waitError);
    return { ...this.exitInfo(`lost contact with the Docker engine: ${why}`), engineLost: true };
  }

  private exitInfo(reason: string): ExitInfo {
    return { reason, requested: this.stopRequested };
  }

  /** Stops and removes the container; each engine request is bounded, so a dead engine cannot hang it. */
  private async terminate(): Promise<void> {
    this.stopRequested = true;
    this.stdin.end();
    await withTimeout(
      this.container.stop({ t: STOP_GRACE_SECONDS }),
      STOP_GRACE_SECONDS * 1000 + ENGINE_REQUEST_TIMEOUT_MS,
      'stop timed out'
    ).catch(() => undefined);
    await withTimeout(
      this.container.remove({ force: true }),
      ENGINE_REQUEST_TIMEOUT_MS,
      'remove timed out'
    ).catch((error: unknown) => {
      if (statusOf(error) === 404) return;
      // Left for the next sweep, which runs once the engine answers again.
      if (isEngineDown(error)) this.options.onEngineLost();
      else this.log.warn({ container: this.label, err: describeError(error) }, 'container removal failed');
    });
    this.options.onGone();
    this.stdin.destroy();
    this.attached.destroy();
  }
}

function imageAdvice(
  spec: Pick<DockerSpec, 'id' | 'image'>,
  failed: { readonly failure: string; readonly retryAt: number }
): string {
  const retry = new Date(failed.retryAt).toISOString();
  return `server ${spec.id}: ${failed.failure}. Pull or build it on the engine (docker pull ${spec.image}; the next call uses it), or set enabled: false for ${spec.id} in servers.yaml. The gateway pulls it again at a call after ${retry}`;
}

function engineAdvice(serverId: string, error: string): string {
  return `server ${serverId}: the Docker engine is unreachable (${error}); start it, or check DOCKER_HOST`;
}

/** The value of `promise` if it settles within `ms`, else undefined. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>(resolve => (timer = setTimeout(resolve, ms, undefined)))
  ]).finally(() => clearTimeout(timer));
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function isEngineDown(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOENT' ||
    code === 'EACCES' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT'
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      // Unref'd: a bound on a request must not keep a closing process alive by itself.
      timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' })), ms).unref();
    })
  ]).finally(() => clearTimeout(timer));
}
