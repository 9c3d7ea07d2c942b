import { createHash } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { ServerSpec } from '../config/server-spec.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { forEachLine } from './line-splitter.js';
import type { ExitInfo, Runtime, ServerProcess, StderrSink } from './runtime.js';

/** Every container the gateway creates carries these labels. */
export const MANAGED_LABEL = 'io.mcp-gateway.managed';
export const SERVER_LABEL = 'io.mcp-gateway.server';
/** Which gateway (by state directory) made the container, so gateways sharing an engine leave each other's alone. */
export const OWNER_LABEL = 'io.mcp-gateway.owner';

/** Seconds a container gets between SIGTERM and SIGKILL on stop. */
const STOP_GRACE_SECONDS = 3;
/** How long an engine ping may take before the engine counts as unreachable. */
const PING_TIMEOUT_MS = 2_000;

export interface DockerRuntimeOptions {
  /** The engine client; by default the local engine or `DOCKER_HOST`. */
  readonly docker?: Docker;
  /** Identifies this gateway's containers among others on the engine (a hash of its state directory). */
  readonly owner: string;
  readonly log: Logger;
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
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly log: Logger;
  /** One pull per image at a time, shared by everyone who needs it. */
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = options.docker ?? new Docker();
    this.log = options.log.child({ component: 'docker' });
  }

  /** A stable owner id for a state directory. */
  static ownerFor(stateDir: string): string {
    return createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
  }

  async health(): Promise<EngineHealth> {
    try {
      await withTimeout(this.docker.ping(), PING_TIMEOUT_MS, 'ping timed out');
      return { reachable: true };
    } catch (error) {
      return { reachable: false, error: describeError(error) };
    }
  }

  /** Removes containers this gateway left behind (a crash, a kill -9). Returns how many. */
  async removeLeftovers(): Promise<number> {
    const leftovers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${MANAGED_LABEL}=true`, `${OWNER_LABEL}=${this.options.owner}`] }
    });
    const removed = await Promise.all(
      leftovers.map(async info => {
        const fields = { container: info.Id.slice(0, 12), server: info.Labels[SERVER_LABEL] };
        try {
          await this.docker.getContainer(info.Id).remove({ force: true });
          this.log.info(fields, 'removed a leftover container');
          return true;
        } catch (error) {
          if (statusOf(error) === 404) return false; // gone already
          this.log.warn({ ...fields, err: describeError(error) }, 'could not remove a leftover container');
          return false;
        }
      })
    );
    return removed.filter(Boolean).length;
  }

  async identify(spec: ServerSpec): Promise<string | undefined> {
    if (!spec.image) return undefined;
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

  async start(spec: ServerSpec, stderr: StderrSink, signal: AbortSignal): Promise<ServerProcess> {
    const image = spec.image;
    const limits = spec.limits;
    if (!image || !limits)
      throw new GatewayError('start_failed', `server ${spec.id} has no image`, { serverId: spec.id });
    try {
      await this.ensureImage(image, spec.id);
      if (signal.aborted)
        throw new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: spec.id });
      const container = await this.docker.createContainer({
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
      try {
        return await this.attachAndStart(container, stderr);
      } catch (error) {
        await container.remove({ force: true }).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw this.startError(error, spec);
    }
  }

  private async attachAndStart(container: Docker.Container, stderr: StderrSink): Promise<ServerProcess> {
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
    stream.once('end', () => {
      stdout.end();
      errors.end();
    });
    stream.on('error', () => {
      stdout.end();
      errors.end();
    });
    forEachLine(errors, stderr);
    await container.start();
    return new Container(container, stream, stdout, exitCode, this.log);
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
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
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
      throw new GatewayError(
        'image_unavailable',
        `image ${image} could not be pulled: ${describeError(error)}`,
        {
          cause: error,
          serverId
        }
      );
    }
    log.info({ ms: Math.round(performance.now() - began) }, 'image pulled');
  }

  private startError(error: unknown, spec: ServerSpec): GatewayError {
    if (error instanceof GatewayError) return error;
    if (isEngineDown(error)) {
      return new GatewayError(
        'engine_unreachable',
        `the Docker engine is unreachable: ${describeError(error)}`,
        {
          cause: error,
          serverId: spec.id
        }
      );
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

class Container implements ServerProcess {
  readonly exited: Promise<ExitInfo>;
  readonly label: string;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly container: Docker.Container,
    readonly stdin: Duplex,
    readonly stdout: PassThrough,
    exitCode: Promise<{ StatusCode: number }>,
    private readonly log: Logger
  ) {
    this.label = `container ${container.id.slice(0, 12)}`;
    stdin.on('error', () => {}); // a write to a dead container fails; the exit reports it
    this.exited = exitCode.then(
      ({ StatusCode }) => ({ reason: `exit code ${StatusCode}`, requested: this.stopRequested }),
      (error: unknown) => ({
        reason: `container lost: ${describeError(error)}`,
        requested: this.stopRequested
      })
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    this.stopRequested = true;
    this.stdin.end();
    await this.container.stop({ t: STOP_GRACE_SECONDS }).catch(() => undefined);
    await this.container.remove({ force: true }).catch((error: unknown) => {
      if (statusOf(error) !== 404)
        this.log.warn({ container: this.label, err: describeError(error) }, 'container removal failed');
    });
    this.stdin.destroy();
  }
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
      timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' })), ms);
    })
  ]).finally(() => clearTimeout(timer));
}
