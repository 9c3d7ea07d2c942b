import type { StdioSpec } from '../config/server-spec.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ExitInfo, Runtime, ServerProcess } from '../runtime/runtime.js';
import type { Connector, Link, LinkEnd } from './connector.js';
import { LineTail } from './line-tail.js';
import { MAX_LINE_BYTES, StreamTransport } from './stream-transport.js';

export interface StdioConnectorOptions<S extends StdioSpec> {
  readonly spec: S;
  /** Runs the server's process (a container, a local process). */
  readonly runtime: Runtime<S>;
  readonly log: Logger;
  /** Longest line accepted on the server's stdout; the default is 64 MiB. */
  readonly maxLineBytes?: number;
}

/** Lines of a server's stderr kept for the status views (across its restarts). */
const STDERR_TAIL_LINES = 50;

/** How long an ended stdout waits for the process's exit status before it counts as the exit. */
const EXIT_GRACE_MS = 200;

/** The end of a process whose stdout ended with no exit status after it. */
const STDOUT_ENDED: LinkEnd = {
  reason: 'its stdout closed, and no exit status followed',
  requested: false
};

/**
 * Connects to a server that runs as a process (a container or a local one) and speaks MCP on its
 * stdio: each `open()` starts the process through the runtime and frames MCP over its streams. The
 * server's stderr (whose last lines it also keeps, {@link stderrTail}) and its stdout lines that
 * are not JSON-RPC are logged here; a stdout line over
 * `maxLineBytes` is dropped and reported through the link's `onfault`.
 */
export class StdioConnector<S extends StdioSpec = StdioSpec> implements Connector {
  private readonly log: Logger;
  private readonly stderr = new LineTail(STDERR_TAIL_LINES);

  constructor(private readonly options: StdioConnectorOptions<S>) {
    this.log = options.log.child({ server: options.spec.id });
  }

  /** Extra input to the catalog fingerprint from the runtime (a Docker image id), if any. */
  identify(): Promise<string | undefined> {
    return this.options.runtime.identify?.(this.options.spec) ?? Promise.resolve(undefined);
  }

  async open(signal: AbortSignal): Promise<Link> {
    const { spec, runtime } = this.options;
    const process = await runtime.start(spec, this.onStderr, signal);
    const maxLineBytes = this.options.maxLineBytes ?? MAX_LINE_BYTES;
    const transport = new StreamTransport(process.stdout, process.stdin, maxLineBytes, `server ${spec.id}`);
    transport.onnoise = line =>
      this.log.warn({ line: line.slice(0, 500) }, 'skipped a line on stdout that is not JSON-RPC');
    transport.onbroken = (line, reason) =>
      this.log.warn(
        { line: line.slice(0, 500), reason },
        'the server answered a request with an invalid response; the request fails with an internal error'
      );
    // Set before the client connects, which chains it: the SDK's own close handler runs after it.
    let stdoutEnded!: () => void;
    const stdoutEnd = new Promise<void>(resolve => (stdoutEnded = resolve));
    transport.onclose = () => stdoutEnded();
    // The process's exit, or the end of its stdout when no exit follows within EXIT_GRACE_MS (with
    // a real pipe EOF usually comes a moment before the exit; an engine killed under a container
    // never reports one).
    const ended = Promise.race([
      process.exited,
      stdoutEnd.then(async () => (await exitWithin(process, EXIT_GRACE_MS)) ?? STDOUT_ENDED)
    ]).then(linkEnd);
    const link: Link = {
      transport,
      label: process.label,
      ended,
      close: () => process.stop()
    };
    transport.onoverflow = bytes => {
      this.log.error({ bytes, limit: maxLineBytes }, 'dropped an over-long line from the server');
      link.onfault?.(
        new GatewayError(
          'message_too_large',
          `server ${spec.id} wrote a line of more than ${sizeOf(maxLineBytes)} on stdout, over the gateway's limit for one message, and it was dropped. Make the tool return less (a page of its results, or a file or URL to fetch)`,
          { serverId: spec.id }
        )
      );
    };
    return link;
  }

  stderrTail(): string[] {
    return this.stderr.read();
  }

  stderrSince(): () => string[] {
    return this.stderr.since();
  }

  private readonly onStderr = (line: string) => {
    this.stderr.push(line);
    this.log.info({ stream: 'stderr', line }, 'server stderr');
  };
}

/** A process's exit as a link's end: an engine lost under it is what carried the server going away. */
function linkEnd(exit: ExitInfo): LinkEnd {
  return {
    reason: exit.reason,
    requested: exit.requested,
    ...(exit.engineLost ? { lost: true } : {})
  };
}

/** The exit, if the process ends within `ms`. */
function exitWithin(process: ServerProcess, ms: number): Promise<ExitInfo | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    process.exited,
    new Promise<undefined>(resolve => (timer = setTimeout(resolve, ms, undefined)))
  ]).finally(() => clearTimeout(timer));
}

/** `64 MiB`, `1 KiB`, or bytes, for messages about the line limit. */
function sizeOf(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
