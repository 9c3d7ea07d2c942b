import { PassThrough } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio, StdioServerTransport, type StdioServerHandle } from '@modelcontextprotocol/server/stdio';
import { pino } from 'pino';
import * as z from 'zod/v4';
import { fingerprintOf, type ProcessSpec } from '../../src/config/server-spec.js';
import { StdioConnector } from '../../src/connectors/stdio-connector.js';
import { GatewayError, type GatewayErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { ExitInfo, Runtime, ServerProcess, StderrSink } from '../../src/runtime/runtime.js';
import { Upstream } from '../../src/upstream/upstream.js';

/** A logger that writes nothing, for code under test that needs one. */
export const silentLog: Logger = pino({ level: 'silent' });

/** Every tool the fake server knows. */
export const FAKE_TOOLS = ['echo', 'rich', 'fail', 'slow', 'crash', 'noisy', 'whoami'] as const;

/** One tools/call the fake server received. */
export interface FakeCall {
  readonly serverId: string;
  readonly instance: number;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** A slow call whose request the fake server saw cancelled (through `ctx.mcpReq.signal`). */
export interface FakeCancellation {
  readonly serverId: string;
  readonly tag: string;
  readonly reason: unknown;
}

/** What `rich` returns: every part of a tool result that the gateway must pass through unchanged. */
export const RICH_RESULT = {
  content: [
    { type: 'text' as const, text: 'first' },
    { type: 'text' as const, text: 'second', annotations: { audience: ['user' as const], priority: 0.5 } }
  ],
  structuredContent: { answer: 42, nested: { list: [1, 'two', null] } },
  isError: true,
  _meta: { 'example.com/trace': 'abc', count: 3 }
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * One "process": a pair of in-memory streams with an SDK MCP server on the far side. `stdin` is
 * what the gateway writes (the server reads it), `stdout` what the server writes.
 */
export class FakeProcess implements ServerProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly label: string;
  readonly exited: Promise<ExitInfo>;
  /** How it ended, once it has. */
  exit: ExitInfo | undefined;
  /** How many times stop() was called. */
  stopCalls = 0;
  /** True once stop() has been called, even while the process is still on its way out. */
  stopRequested = false;
  /** The JSON-RPC methods (requests and notifications) the gateway sent, in order. */
  readonly methods: string[] = [];

  private resolveExit!: (exit: ExitInfo) => void;
  private dying = false;
  private closeServer: (() => Promise<void>) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly runtime: FakeRuntime,
    readonly spec: ProcessSpec,
    readonly instance: number
  ) {
    this.label = `fake ${spec.id} #${instance}`;
    this.exited = new Promise(resolve => (this.resolveExit = resolve));
    // Writes after the end (a late answer, a cancellation to a dead server) must not crash the test
    // process; the exit is what reports the failure, as with a real pipe.
    this.stdin.on('error', () => {});
    this.stdout.on('error', () => {});
    let partial = '';
    this.stdin.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const message = JSON.parse(line) as { method?: unknown };
          if (typeof message.method === 'string') this.methods.push(message.method);
        } catch {
          // not JSON: not ours to judge
        }
      }
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Serves MCP on the streams: both eras through `serveStdio`, or 2025 only. */
  serve(): void {
    const { runtime } = this;
    if (runtime.serveDelayMs > 0) {
      // Like a server that needs a while before it reads its input (an `npx` download, a JVM):
      // what the gateway writes meanwhile waits in the pipe.
      const early: Buffer[] = [];
      const hold = (chunk: Buffer) => early.push(chunk);
      this.stdin.on('data', hold);
      this.later(runtime.serveDelayMs, () => {
        this.stdin.off('data', hold);
        const input = new PassThrough();
        for (const chunk of early) input.write(chunk);
        this.stdin.pipe(input);
        this.serveOn(input);
      });
      return;
    }
    this.serveOn(this.stdin);
  }

  private serveOn(input: PassThrough): void {
    const { runtime } = this;
    const stdin = runtime.ignoreProbe ? withoutProbes(input) : input;
    if (runtime.exitOnProbe) {
      stdin.once('data', (chunk: Buffer) => {
        if (!String(chunk).includes('"initialize"')) this.crash('exit code 3');
      });
    }
    for (const line of runtime.noise) this.stdout.write(`${line}\n`);
    if (runtime.exitOnInput) stdin.once('data', () => this.crash('exit code 2'));
    if (runtime.silent) {
      stdin.resume(); // reads everything, answers nothing
      return;
    }
    if (runtime.legacyOnly) {
      const server = this.build();
      void server.connect(new StdioServerTransport(stdin, this.stdout));
      this.closeServer = () => server.close();
    } else {
      const transport = new StdioServerTransport(stdin, this.stdout);
      const handle: StdioServerHandle = serveStdio(() => this.build(), { transport });
      this.closeServer = () => handle.close();
    }
  }

  /**
   * Simulates the process dying on its own: the streams end and `exited` resolves with
   * `requested: false`. With `runtime.exitLagMs`, the streams end first and the exit is seen that
   * much later, reported the way `LocalProcessRuntime` reports it (`requested` is whether stop()
   * was called by then), as happens when a real pipe's EOF arrives before the exit status.
   * `engineLost` reports it as a container runtime that lost its engine would.
   */
  crash(reason = 'exit code 1', engineLost = false): void {
    if (this.exit || this.dying) return;
    if (this.runtime.exitNeverSeen) {
      // Like a container whose engine was killed: its streams end, its exit is never reported.
      this.dying = true;
      this.endStreams();
      return;
    }
    const lag = this.runtime.exitLagMs;
    if (lag <= 0) {
      this.end({ reason, requested: false, ...(engineLost ? { engineLost } : {}) });
      return;
    }
    this.dying = true;
    this.endStreams();
    setTimeout(() => this.end({ reason, requested: this.stopRequested }), lag);
  }

  stop(): Promise<void> {
    this.stopCalls++;
    this.stopRequested = true;
    if (this.dying && this.runtime.exitNeverSeen) {
      this.end({ reason: 'stopped', requested: true });
    } else if (this.dying) {
      // Already on its way out; the exit is still to be seen.
    } else if (this.stopCalls === 1 && this.runtime.stopDelayMs > 0) {
      // Like a process that takes a while to leave after being asked to.
      setTimeout(() => this.end({ reason: 'stopped', requested: true }), this.runtime.stopDelayMs);
    } else {
      this.end({ reason: 'stopped', requested: true });
    }
    return this.exited.then(() => undefined);
  }

  /** Writes raw lines on stdout, as a server printing debug output would. */
  writeNoise(...lines: string[]): void {
    if (this.running) for (const line of lines) this.stdout.write(`${line}\n`);
  }

  private endStreams(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    void this.closeServer?.().catch(() => undefined);
    this.closeServer = undefined;
    this.stdin.end();
    this.stdout.end();
  }

  private end(exit: ExitInfo): void {
    if (this.exit) return;
    this.exit = exit;
    this.endStreams();
    this.runtime.exits.push({ serverId: this.spec.id, instance: this.instance, ...exit });
    this.resolveExit(exit);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private build(): McpServer {
    const { runtime, spec } = this;
    const server = new McpServer({ name: `fake-${spec.id}`, version: '1.0.0' });
    const enabled = new Set<string>(runtime.tools);
    const record = (tool: string, args: Record<string, unknown>) =>
      runtime.calls.push({ serverId: spec.id, instance: this.instance, tool, args });

    if (enabled.has('echo')) {
      server.registerTool(
        'echo',
        {
          description: 'Returns its text',
          inputSchema: z.object({ text: z.string() }),
          outputSchema: z.object({ text: z.string() }),
          annotations: { readOnlyHint: true }
        },
        ({ text }) => {
          record('echo', { text });
          return {
            content: [{ type: 'text', text }],
            structuredContent: { text },
            _meta: { fake: spec.id }
          };
        }
      );
    }
    if (enabled.has('rich')) {
      server.registerTool('rich', { description: 'Returns every result field' }, () => {
        record('rich', {});
        return structuredClone(RICH_RESULT);
      });
    }
    if (enabled.has('fail')) {
      server.registerTool('fail', { description: 'Returns a tool error' }, () => {
        record('fail', {});
        return { content: [{ type: 'text', text: 'this tool always fails' }], isError: true };
      });
    }
    if (enabled.has('slow')) {
      server.registerTool(
        'slow',
        {
          description: 'Waits ms milliseconds',
          inputSchema: z.object({ ms: z.number(), tag: z.string().optional() })
        },
        async ({ ms, tag }, ctx) => {
          record('slow', { ms, tag });
          const signal = ctx.mcpReq.signal;
          try {
            await sleep(ms, signal);
          } catch (error) {
            runtime.cancellations.push({ serverId: spec.id, tag: tag ?? 'slow', reason: signal.reason });
            throw error;
          }
          return { content: [{ type: 'text', text: `slept ${ms}` }] };
        }
      );
    }
    if (enabled.has('crash')) {
      server.registerTool(
        'crash',
        {
          description: 'Makes the process exit mid-call',
          inputSchema: z.object({ afterMs: z.number().optional() })
        },
        async ({ afterMs }, ctx) => {
          record('crash', { afterMs });
          this.later(afterMs ?? 20, () => this.crash('exit code 1'));
          await sleep(60_000, ctx.mcpReq.signal).catch(() => undefined);
          return { content: [] };
        }
      );
    }
    if (enabled.has('noisy')) {
      server.registerTool('noisy', { description: 'Prints junk on stdout, then answers' }, () => {
        record('noisy', {});
        this.writeNoise('junk line on stdout', '[1,2,3]', '{"not":"json-rpc"}');
        return { content: [{ type: 'text', text: 'still here' }] };
      });
    }
    if (enabled.has('whoami')) {
      server.registerTool('whoami', { description: 'Names the server and instance' }, () => {
        record('whoami', {});
        return { content: [{ type: 'text', text: `${spec.id}#${this.instance}` }] };
      });
    }
    runtime.customize?.(server, this);
    return server;
  }
}

/**
 * A `Runtime` that runs servers in this process over in-memory streams: no child process, no
 * Docker. Its public fields choose how the next start behaves and record what happened.
 */
export class FakeRuntime implements Runtime<ProcessSpec> {
  readonly kind = 'process' as const;

  /** The tools the next started server registers. */
  tools: readonly string[] = [...FAKE_TOOLS];
  /** Extra registration for the next started servers. */
  customize: ((server: McpServer, process: FakeProcess) => void) | undefined;
  /** Starts that reject (each failing start uses one), with this reason. */
  failStarts = 0;
  failReason = 'spawn ENOENT';
  failCode: GatewayErrorCode = 'start_failed';
  /** The server reads its input but never answers anything, not even initialize. */
  silent = false;
  /** Drop `server/discover` unanswered, like a 2025-era server that ignores what it does not know. */
  ignoreProbe = false;
  /** Serve only the 2025 era (a plain `StdioServerTransport`, no `server/discover`). */
  legacyOnly = false;
  /** Exit when the first message is not `initialize`, like a 2025-era server probed for its era. */
  exitOnProbe = false;
  /** How long start() takes before it resolves. */
  startDelayMs = 0;
  /** Non-JSON lines written on stdout as the process starts. */
  noise: readonly string[] = [];
  /** Each started process dies as soon as it reads anything (a server that cannot run). */
  exitOnInput = false;
  /** How long a process takes to end after stop(). */
  stopDelayMs = 0;
  /** After a crash, how long until the exit is seen (the streams end at once). */
  exitLagMs = 0;
  /** After a crash, the streams end but the exit is never seen (until stop() is called). */
  exitNeverSeen = false;
  /** How long a started process takes before it reads its input and answers. */
  serveDelayMs = 0;
  /**
   * What identify() answers: the extra fingerprint part (an image id, for a container runtime), or
   * an Error to reject with.
   */
  identity: string | Error | undefined;
  /** How many times identify() was asked. */
  identifies = 0;

  /** Every start() call, successful or not. */
  starts = 0;
  /** Every process handed out, in order. */
  readonly processes: FakeProcess[] = [];
  readonly calls: FakeCall[] = [];
  readonly cancellations: FakeCancellation[] = [];
  readonly exits: (ExitInfo & { serverId: string; instance: number })[] = [];
  /** Specs passed to start(), in order. */
  readonly started: ProcessSpec[] = [];

  /** Processes that have not ended yet. */
  get running(): number {
    return this.processes.filter(p => p.running).length;
  }

  /** Starts of one server. */
  startsOf(serverId: string): number {
    return this.started.filter(spec => spec.id === serverId).length;
  }

  async start(spec: ProcessSpec, _stderr: StderrSink, signal: AbortSignal): Promise<ServerProcess> {
    this.starts++;
    this.started.push(spec);
    if (this.startDelayMs > 0) await sleep(this.startDelayMs, signal);
    if (signal.aborted) {
      throw new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: spec.id });
    }
    if (this.failStarts > 0) {
      this.failStarts--;
      throw new GatewayError(this.failCode, `server ${spec.id}: cannot run fake: ${this.failReason}`, {
        serverId: spec.id
      });
    }
    const process = new FakeProcess(this, spec, this.processes.length + 1);
    this.processes.push(process);
    process.serve();
    return process;
  }

  identify(_spec: ProcessSpec): Promise<string | undefined> {
    this.identifies++;
    return this.identity instanceof Error ? Promise.reject(this.identity) : Promise.resolve(this.identity);
  }

  /** Crashes every running process. */
  crashAll(reason?: string): void {
    for (const process of this.processes) if (process.running) process.crash(reason);
  }

  /** Stops every running process (test cleanup). */
  async stopAll(): Promise<void> {
    await Promise.all(this.processes.filter(p => p.running).map(p => p.stop()));
  }
}

/** A server spec as the config loader would produce it, with short test defaults. */
export function fakeSpec(id: string, overrides: Partial<Omit<ProcessSpec, 'fingerprint'>> = {}): ProcessSpec {
  const base: Omit<ProcessSpec, 'fingerprint'> = {
    id,
    description: undefined,
    namespace: id,
    kind: 'process',
    command: ['fake-server', id],
    env: {},
    cwd: undefined,
    idleTimeoutMs: 0,
    callTimeoutMs: 10_000,
    maxConcurrency: 16,
    maxQueue: 64,
    tools: {},
    unavailable: undefined,
    ...overrides
  };
  return { ...base, fingerprint: fingerprintOf(base) };
}

/** `input` with every `server/discover` line taken out: what a server that ignores the probe reads. */
function withoutProbes(input: PassThrough): PassThrough {
  const filtered = new PassThrough();
  let partial = '';
  input.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (!line.includes('"server/discover"')) filtered.write(`${line}\n`);
  });
  input.on('end', () => filtered.end());
  return filtered;
}

/** The connector the gateway would build for `spec`: the stdio connector over `runtime`. */
export function fakeConnector(
  spec: ProcessSpec,
  runtime: FakeRuntime,
  options: { maxLineBytes?: number; log?: Logger } = {}
): StdioConnector<ProcessSpec> {
  return new StdioConnector({
    spec,
    runtime,
    log: options.log ?? silentLog,
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes })
  });
}

/** An upstream for `spec` as the gateway would make it, over {@link fakeConnector} on `runtime`. */
export function fakeUpstream(spec: ProcessSpec, runtime: FakeRuntime): Upstream {
  return new Upstream({
    spec,
    connector: fakeConnector(spec, runtime),
    identity: { name: 'test-gateway', version: '0.0.0' },
    log: silentLog,
    startTimeoutMs: 5_000
  });
}
