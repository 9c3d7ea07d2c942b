import {
  CLIENT_CAPABILITIES_META_KEY,
  Client,
  LOG_LEVEL_META_KEY,
  SdkError,
  SdkErrorCode,
  type McpSubscription,
  type LoggingLevel,
  type PriorDiscovery,
  type RequestOptions,
  type ServerCapabilities
} from '@modelcontextprotocol/client';
import type { CallToolResult, Progress } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/server-spec.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { UndeliveredError, type Connector, type Link, type LinkEnd } from '../connectors/connector.js';
import { CallToolResultShape } from './call-tool-result-shape.js';
import {
  callerCapabilities,
  CLIENT_REQUEST_METHODS,
  ClientAskers,
  UPSTREAM_CLIENT_CAPABILITIES,
  type ClientAsker
} from './client-askers.js';
import { withColdStart } from './cold-start.js';
import { CAPABILITY_KINDS, listKind, listKindOrNone, type CapabilityKind, type Listing } from './listing.js';
import { LogRelay, type LogHandler, type LogMessage } from './log-relay.js';
import { Slots } from './slots.js';

export type UpstreamState = 'stopped' | 'starting' | 'ready' | 'stopping' | 'failed';

/** How the gateway identifies itself to the servers behind it. */
export interface ClientIdentity {
  readonly name: string;
  readonly version: string;
}

/** What an upstream tells the layer above it. Listeners must not throw. */
export interface UpstreamListener {
  onState?(upstream: Upstream, state: UpstreamState): void;
  /** A start that succeeded, a stop for idleness, or an exit nobody asked for. */
  onLifecycle?(upstream: Upstream, event: 'started' | 'idle_stop' | 'crashed'): void;
  /**
   * One kind of the server's capabilities as just listed (each kind after every start, and after
   * that kind's `list_changed`), and its era. A kind the server does not offer is listed empty.
   */
  onListed?<K extends CapabilityKind>(
    upstream: Upstream,
    kind: K,
    items: Listing[K],
    era: PriorDiscovery
  ): void;
  /** A log message the server sent with no request in flight (see {@link LogRelay}). */
  onLog?(upstream: Upstream, message: LogMessage): void;
  /** The server sent `notifications/resources/updated` for `uri` (its own URI). */
  onResourceUpdated?(upstream: Upstream, uri: string): void;
}

export interface UpstreamOptions {
  readonly spec: ServerSpec;
  /** Opens the connections to the server; its kind decides which (see `connector-for.ts`). */
  readonly connector: Connector;
  readonly identity: ClientIdentity;
  readonly log: Logger;
  /** Bound on opening a connection (a process start, say) plus the MCP handshake. */
  readonly startTimeoutMs: number;
}

export interface CallOptions {
  /** Aborted when the client cancels; the cancellation is forwarded to the server. */
  readonly signal?: AbortSignal;
  readonly onprogress?: (progress: Progress) => void;
  /**
   * The caller's share of the server's log messages: each one the server sends while this request is
   * in flight (see {@link LogRelay}); left out, the caller gets none.
   */
  readonly onlog?: LogHandler;
  /** Request `_meta` to forward (without `progressToken`, which the upstream client assigns). */
  readonly meta?: Record<string, unknown>;
  /**
   * The caller's log level: a 2026-era server is told it in the request's `_meta`; a 2025-era one
   * is not (it would read the key as a 2026-era envelope), it logs everything and the gateway filters.
   */
  readonly logLevel?: LoggingLevel | undefined;
  /** The client the server's requests during this one go to (sampling, elicitation, roots). */
  readonly asker?: ClientAsker | undefined;
  /**
   * For a 2026-era caller: an `input_required` result of a 2026-era server comes back as it is
   * (for the caller to answer); on a retry, this carries the caller's answers and the server's state.
   */
  readonly inputRequired?: { readonly inputResponses?: unknown; readonly requestState?: string } | undefined;
}

/** What a request returns besides the server's result. */
export interface RequestOutcome<T> {
  readonly result: T;
  /** True when this call had to start the server. */
  readonly cold: boolean;
  /** Time spent starting the server (0 for a warm call). */
  readonly startMs: number;
}

/** What a tool call returns besides the server's result. */
export type CallOutcome = RequestOutcome<CallToolResult>;

/**
 * What a request is about, for its error messages: `tool` and the server's own name of the tool,
 * `prompt` and a prompt's name, `resource` and a URI.
 */
export interface Subject {
  readonly kind: 'tool' | 'prompt' | 'resource' | 'completion';
  readonly name: string;
}

/**
 * Sends one request on a connected client; the options carry the timeout, signal and progress, and
 * `hopMeta` the `_meta` keys this server is to be told besides the caller's (see {@link CallOptions}).
 */
export type Send<T> = (
  client: Client,
  options: RequestOptions,
  hopMeta: Record<string, unknown>
) => Promise<T>;

interface Connection {
  readonly client: Client;
  readonly link: Link;
  /**
   * Rejecters of the requests in flight (calls and tool listings): the link's end fails each at
   * once with `server_exited`, a fault of the link (an over-long line) with the fault.
   * Each removes its own when it settles, so nothing outlives the request (racing every request
   * against one long-lived promise would keep every result reachable until the link ends).
   */
  readonly inFlight: Set<(error: unknown) => void>;
  /** The callers of the requests in flight, whom the server's own requests are passed to. */
  readonly askers: ClientAskers;
  /** Every kind listed right after the start; discovery waits for it rather than asking again. */
  listed?: Promise<Listing>;
}

/**
 * The result without the `io.modelcontextprotocol/*` `_meta` keys, which describe the hop between
 * the gateway and the server (the server's identity, say), not the tool's answer. Everything else
 * is the server's and passes through.
 */
function withoutHopMeta(result: CallToolResult): CallToolResult {
  const meta = result._meta;
  if (!meta || !Object.keys(meta).some(key => key.startsWith(HOP_META_PREFIX))) return result;
  const kept = Object.fromEntries(Object.entries(meta).filter(([key]) => !key.startsWith(HOP_META_PREFIX)));
  const { _meta: _dropped, ...rest } = result;
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest;
}

const HOP_META_PREFIX = 'io.modelcontextprotocol/';

/** A start that failed because the connection ended during the handshake (it may not know the probe). */
class ExitedDuringStart extends GatewayError {
  constructor(message: string, serverId: string) {
    super('start_failed', message, { serverId });
  }
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The link's end, if it comes within `ms`. */
function endWithin(link: Link, ms: number): Promise<LinkEnd | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    link.ended,
    new Promise<undefined>(resolve => (timer = setTimeout(resolve, ms, undefined)))
  ]).finally(() => clearTimeout(timer));
}

/** Failed starts and crashes within this window... */
const FAILURE_WINDOW_MS = 60_000;
/** ...this many times... */
const FAILURE_LIMIT = 3;
/** ...mark the server failed for this long. */
const FAILED_COOLDOWN_MS = 30_000;

/**
 * The time a server that silently ignores the era probe gets for its 2025-era `initialize`, after
 * the probe has taken all of startTimeout (at most startTimeout itself).
 */
const LEGACY_FALLBACK_MS = 5_000;

/** A failed start or a crash, as counted toward marking a server failed. */
interface Failure {
  readonly at: number;
  readonly kind: 'start' | 'crash';
}

/** `failed to start 3 times`, `crashed 3 times`, or both, for the failures that marked a server failed. */
function describeFailures(failures: readonly Failure[]): string {
  const times = (n: number) => (n === 1 ? '1 time' : `${n} times`);
  const starts = failures.filter(failure => failure.kind === 'start').length;
  const crashes = failures.length - starts;
  if (crashes === 0) return `failed to start ${times(starts)} in a minute`;
  if (starts === 0) return `crashed ${times(crashes)} in a minute`;
  return `failed to start ${times(starts)} and crashed ${times(crashes)} in a minute`;
}

/**
 * One MCP server behind the gateway: at most one running instance, shared by every client session,
 * with calls multiplexed over its stdio by JSON-RPC id.
 *
 * Lifecycle: `stopped → starting → ready → stopping → stopped`, or `→ failed` after
 * {@link FAILURE_LIMIT} failed starts or crashes within a minute. Exactly one start runs at a time:
 * concurrent first calls share it. The idle timer runs only while no call is in flight, so a long
 * call is never cut off by it. A connection ends when the process exits or its stdout ends,
 * whichever comes first: either fails the calls in flight and lets the next call start it again.
 */
export class Upstream {
  readonly spec: ServerSpec;
  /** The era to connect in, as learned earlier; undefined means probe. Set by the catalog. */
  prior: PriorDiscovery | undefined;

  private stateValue: UpstreamState = 'stopped';
  private connection: Connection | undefined;
  private starting: Promise<Connection> | undefined;
  private stopping: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlightCount = 0;
  /** Calls ever made; discovery compares it to see whether anyone used the server meanwhile. */
  private callCount = 0;
  private failures: Failure[] = [];
  private failedUntil = 0;
  /** What marked the server failed, for the errors its calls get until `failedUntil`. */
  private failedBecause = '';
  private lastErrorValue: string | undefined;
  private startedAtValue: Date | undefined;
  private lastUsedValue: Date | undefined;
  private starts = 0;
  private instructionsValue: string | undefined;
  private capabilitiesValue: ServerCapabilities | undefined;
  private closed = false;
  private readonly shutdown = new AbortController();
  private readonly log: Logger;
  private readonly listeners = new Set<UpstreamListener>();
  /** Bounds calls in flight (`maxConcurrency`) and waiting (`maxQueue`). */
  private readonly slots: Slots;
  /** Hands each log message of the server to the requests in flight, or to the listeners. */
  private readonly logs = new LogRelay(message => {
    for (const listener of this.listeners) listener.onLog?.(this, message);
  });
  /**
   * The server's own URIs the gateway is subscribed to. Kept across restarts (each start subscribes
   * again), and while it is not empty the server is not stopped for idleness: a stopped server
   * sends no `notifications/resources/updated`.
   */
  private readonly subscribed = new Set<string>();
  /** On a 2026-era connection: the `subscriptions/listen` stream carrying {@link subscribed}. */
  private resourceListen: McpSubscription | undefined;

  constructor(private readonly options: UpstreamOptions) {
    this.spec = options.spec;
    this.slots = new Slots(
      options.spec.maxConcurrency,
      options.spec.maxQueue,
      () =>
        new GatewayError(
          'server_busy',
          `server ${options.spec.id} is busy: ${options.spec.maxConcurrency} calls in flight and ${options.spec.maxQueue} waiting`,
          { serverId: options.spec.id }
        )
    );
    this.log = options.log.child({ server: options.spec.id });
  }

  /** Registers a listener for state and tool changes; returns a function that removes it. */
  addListener(listener: UpstreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The catalog fingerprint: the config's, plus what the connector adds (an image id). */
  async fingerprint(): Promise<string> {
    const extra = await this.options.connector.identify?.().catch(() => undefined);
    return extra === undefined ? this.spec.fingerprint : `${this.spec.fingerprint}:${extra}`;
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): UpstreamState {
    return this.stateValue;
  }

  /** The server's own `instructions`, as it gave them at its last handshake. */
  get instructions(): string | undefined {
    return this.instructionsValue;
  }

  /** What the server offered at its last handshake (undefined before its first start). */
  get capabilities(): ServerCapabilities | undefined {
    return this.capabilitiesValue;
  }

  /** A snapshot for health and status views. */
  status() {
    return {
      id: this.spec.id,
      runtime: this.spec.kind,
      state: this.stateValue,
      startedAt: this.startedAtValue?.toISOString() ?? null,
      lastUsed: this.lastUsedValue?.toISOString() ?? null,
      inFlight: this.inFlightCount,
      // Starts after the first: crash recoveries and starts after an idle stop.
      restarts: Math.max(0, this.starts - 1),
      lastError: this.spec.unavailable ?? this.lastErrorValue ?? null
    };
  }

  /**
   * Calls `tool` (the server's own name for it), starting the server first if needed. Resolves with
   * the server's result unchanged; rejects with a `GatewayError` for local failures or the server's
   * `ProtocolError` for its own errors.
   */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions = {}
  ): Promise<CallOutcome> {
    const outcome = await this.request(
      { kind: 'tool', name: tool },
      (client, requestOptions, hopMeta) => {
        const meta = { ...options.meta, ...hopMeta };
        return client.request(
          {
            method: 'tools/call',
            params: {
              name: tool,
              arguments: args,
              ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
              ...(options.inputRequired?.inputResponses === undefined
                ? {}
                : { inputResponses: options.inputRequired.inputResponses }),
              ...(options.inputRequired?.requestState === undefined
                ? {}
                : { requestState: options.inputRequired.requestState })
            }
          },
          CallToolResultShape,
          requestOptions
        );
      },
      options
    );
    return { ...outcome, result: withoutHopMeta(outcome.result) };
  }

  /**
   * Subscribes to updates of `uri` (the server's own URI), starting the server if needed: with
   * `resources/subscribe` on a 2025-era connection, on a `subscriptions/listen` stream carrying
   * every subscribed URI on a 2026-era one. Rejects like {@link callTool}; then nothing is kept.
   */
  async subscribeResource(uri: string, options: CallOptions = {}): Promise<void> {
    // Kept once the server has it: a start caused by this request must not subscribe it twice.
    await this.request(
      { kind: 'resource', name: uri },
      (client, sent) => this.sendSubscription(client, uri, 'subscribe', sent),
      options
    );
    this.subscribed.add(uri);
    if (this.inFlightCount === 0) this.clearIdleTimer();
  }

  /** Ends the subscription to `uri`. A server not running has none to end: nothing is started. */
  async unsubscribeResource(uri: string, options: CallOptions = {}): Promise<void> {
    if (!this.subscribed.delete(uri) || !this.connection) {
      if (this.inFlightCount === 0) this.armIdleTimer();
      return;
    }
    await this.request(
      { kind: 'resource', name: uri },
      (client, sent) => this.sendSubscription(client, uri, 'unsubscribe', sent),
      options
    );
  }

  /** Sends one change of {@link subscribed} (`uri` added or removed) in the connection's era. */
  private async sendSubscription(
    client: Client,
    uri: string,
    change: 'subscribe' | 'unsubscribe',
    options: RequestOptions
  ): Promise<void> {
    if (client.getProtocolEra() !== 'modern') {
      if (change === 'subscribe') await client.subscribeResource({ uri }, options);
      else await client.unsubscribeResource({ uri }, options);
      return;
    }
    // A listen stream's filter is fixed: a new stream with every URI, then the old one closed.
    const uris = new Set(this.subscribed);
    if (change === 'subscribe') uris.add(uri);
    else uris.delete(uri);
    this.replaceListen(
      uris.size > 0 ? await client.listen({ resourceSubscriptions: [...uris] }, options) : undefined
    );
  }

  /** Makes `listen` the resource listen stream, closing the one it replaces (the last opened wins). */
  private replaceListen(listen: McpSubscription | undefined): void {
    const previous = this.resourceListen;
    this.resourceListen = listen;
    previous?.close().catch(() => undefined);
  }

  /** Subscribes a fresh connection to every URI in {@link subscribed}. Not awaited by the start. */
  private resubscribe(client: Client): void {
    this.resourceListen = undefined;
    const uris = [...this.subscribed];
    if (uris.length === 0) return;
    const sent =
      client.getProtocolEra() === 'modern'
        ? client.listen({ resourceSubscriptions: uris }).then(listen => this.replaceListen(listen))
        : Promise.all(uris.map(uri => client.subscribeResource({ uri })));
    sent.catch((error: unknown) =>
      this.log.warn(
        { err: describeError(error), uris },
        'could not subscribe to resources again after a start'
      )
    );
  }

  /**
   * Sends one request to the server by way of `send`, under the rules every request follows: a
   * slot (`maxConcurrency`, `maxQueue`), `callTimeout` counted from the queue, a cold start if the
   * server is not running, cancellation by `options.signal`, progress to `options.onprogress`, and
   * the idle timer held off while it runs. Rejects like {@link callTool}.
   */
  async request<T>(subject: Subject, send: Send<T>, options: CallOptions = {}): Promise<RequestOutcome<T>> {
    const began = performance.now();
    if (!this.slots.tryAcquire()) await this.waitForSlot(subject, options.signal);
    try {
      return await this.requestInSlot(subject, send, options, performance.now() - began);
    } finally {
      this.slots.release();
    }
  }

  /**
   * Waits for a free slot for at most `callTimeout`: the time in the queue is part of the call's, so
   * a queued call never waits longer than its timeout says.
   */
  private async waitForSlot(subject: Subject, signal: AbortSignal | undefined): Promise<void> {
    const { id, callTimeoutMs, maxConcurrency } = this.spec;
    const queue = new AbortController();
    const timer = setTimeout(() => queue.abort(), callTimeoutMs);
    try {
      await this.slots.acquire(signal ? AbortSignal.any([signal, queue.signal]) : queue.signal);
    } catch (error) {
      if (queue.signal.aborted && !signal?.aborted) {
        throw new GatewayError(
          'call_timeout',
          `${subject.kind} ${subject.name} on server ${id} waited ${callTimeoutMs / 1000}s (its callTimeout) for a free slot behind ${maxConcurrency} calls in flight and was never sent to the server; raise maxConcurrency or callTimeout, or make fewer calls at once`,
          { cause: error, serverId: id }
        );
      }
      throw this.callError(error, subject, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async requestInSlot<T>(
    subject: Subject,
    send: Send<T>,
    options: CallOptions,
    queuedMs: number
  ): Promise<RequestOutcome<T>> {
    this.inFlightCount++;
    this.callCount++;
    this.clearIdleTimer();
    this.lastUsedValue = new Date();
    try {
      let attempt = await this.connectionFor(subject, options);
      let { cold, startMs } = attempt;
      const sentAt = performance.now();
      let retried = false;
      for (;;) {
        const { connection } = attempt;
        // The queue took its share of callTimeout, and a first send that never arrived its own; a
        // cold start has its own bound (startTimeout).
        const timeoutMs = this.spec.callTimeoutMs - queuedMs - (retried ? performance.now() - sentAt : 0);
        try {
          const result = await this.sendOn(connection, send, options, Math.max(1, timeoutMs));
          return { result, cold, startMs };
        } catch (error) {
          if (error instanceof UndeliveredError && !retried && !options.signal?.aborted) {
            // It never reached the server: safe to send once more, on a new connection.
            retried = true;
            this.retire(connection, error);
            attempt = await this.connectionFor(subject, options);
            cold ||= attempt.cold;
            startMs += attempt.startMs;
            continue;
          }
          throw withColdStart(await this.requestError(error, connection, subject, options.signal, queuedMs), {
            cold,
            startMs
          });
        }
      }
    } finally {
      this.inFlightCount--;
      this.lastUsedValue = new Date();
      if (this.inFlightCount === 0) this.armIdleTimer();
    }
  }

  /**
   * The running connection, started first if needed (shared with concurrent callers). A caller that
   * gives up during a cold start leaves at once; the start goes on for others.
   */
  private async connectionFor(
    subject: Subject,
    options: CallOptions
  ): Promise<{ connection: Connection; cold: boolean; startMs: number }> {
    const cold = this.connection === undefined;
    const startedAt = performance.now();
    const connection = await untilAborted(this.ensureStarted(), options.signal).catch((error: unknown) => {
      throw withColdStart(this.callError(error, subject, options.signal), {
        cold,
        startMs: performance.now() - startedAt
      });
    });
    return { connection, cold, startMs: cold ? performance.now() - startedAt : 0 };
  }

  /** Sends one request by way of `send` on `connection`, failed early by its end or a fault. */
  private sendOn<T>(
    connection: Connection,
    send: Send<T>,
    options: CallOptions,
    timeoutMs: number
  ): Promise<T> {
    const leave = connection.askers.add(options.asker);
    const request = send(
      connection.client,
      {
        timeout: timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onprogress ? { onprogress: options.onprogress } : {}),
        // A 2026-era caller answers the server's questions itself: its input_required comes back.
        ...(options.inputRequired ? { allowInputRequired: true } : {})
      },
      this.hopMeta(options)
    );
    const closeLogs = this.logs.open(options.onlog);
    return tracked(connection, request).finally(() => {
      closeLogs();
      leave();
    });
  }

  /**
   * Gives up `connection`, which a request found gone ({@link UndeliveredError}), so that the next
   * request opens a new one. Closing it fails the requests still waiting on it, as its end would:
   * they may have reached the server, so they are not sent again.
   */
  private retire(connection: Connection, error: UndeliveredError): void {
    if (this.connection !== connection) return; // ended or replaced meanwhile
    this.log.info({ err: error.message }, 'a request found the connection gone; opening a new one');
    this.connection = undefined;
    this.clearIdleTimer();
    this.setState('stopped');
    void connection.client.close().catch(() => undefined);
    connection.link.close().catch((closeError: unknown) => {
      this.log.warn({ err: describeError(closeError) }, 'closing a connection that was gone failed');
    });
  }

  /**
   * The `_meta` keys a request tells this server about its caller: for a 2026-era server, the
   * caller's log level and its share of the capabilities the gateway declared (the server reads
   * both per request); for a 2025-era one none, as its session holds them.
   */
  private hopMeta(options: CallOptions): Record<string, unknown> {
    if (this.prior?.kind !== 'modern') return {};
    return {
      ...(options.logLevel ? { [LOG_LEVEL_META_KEY]: options.logLevel } : {}),
      ...(options.asker?.capabilities
        ? { [CLIENT_CAPABILITIES_META_KEY]: callerCapabilities(options.asker.capabilities) }
        : {})
    };
  }

  /** The error a request sent to the server fails with. */
  private async requestError(
    error: unknown,
    connection: Connection,
    subject: Subject,
    signal: AbortSignal | undefined,
    queuedMs: number
  ): Promise<unknown> {
    if (
      !signal?.aborted &&
      error instanceof SdkError &&
      (error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.NotConnected)
    ) {
      // The connection ended under the call: say how, which takes at most EXIT_GRACE_MS to learn.
      return this.exitError(await connection.link.ended, error);
    }
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout && queuedMs >= 50) {
      return new GatewayError(
        'call_timeout',
        `${subject.kind} ${subject.name} on server ${this.spec.id} did not finish within ${this.spec.callTimeoutMs / 1000}s (callTimeout), ${(queuedMs / 1000).toFixed(1)}s of which it waited for a free slot; it was cancelled`,
        { cause: error, serverId: this.spec.id }
      );
    }
    return this.callError(error, subject, signal);
  }

  /** The error for calls in flight when the connection ended with `exit`. */
  private exitError(exit: LinkEnd, cause?: unknown): GatewayError {
    const next =
      Date.now() < this.failedUntil
        ? `; it ${this.failedBecause}, so it is marked failed until ${new Date(this.failedUntil).toISOString()}`
        : '; the next call starts it again';
    return new GatewayError('server_exited', `server ${this.spec.id} exited (${exit.reason})${next}`, {
      ...(cause === undefined ? {} : { cause }),
      serverId: this.spec.id
    });
  }

  /**
   * Lists every kind of the server's capabilities, starting it if needed, and reports them to the
   * listener. Used for discovery: a server started only for this is stopped again right away.
   */
  async discover(): Promise<Listing> {
    const wasRunning = this.connection !== undefined;
    const callsBefore = this.callCount;
    this.inFlightCount++;
    this.clearIdleTimer();
    try {
      const connection = await this.ensureStarted();
      // A start this call caused has just listed everything; a server already running is asked anew.
      return await (!wasRunning && connection.listed ? connection.listed : this.listAll(connection));
    } finally {
      this.inFlightCount--;
      if (this.inFlightCount === 0) {
        // Stopped again only if nobody called it meanwhile: a server a client just used stays up
        // for its idle timeout like any other.
        if (wasRunning || this.callCount !== callsBefore) this.armIdleTimer();
        else await this.stop('discovered');
      }
    }
  }

  /** Starts the server now (an operator's request), leaving it to the idle timer as after a call. */
  async warm(): Promise<void> {
    await this.ensureStarted();
    if (this.inFlightCount === 0) this.armIdleTimer();
  }

  /** Starts the server if it is not running (shared by concurrent callers). */
  ensureStarted(): Promise<Connection> {
    if (this.connection) return Promise.resolve(this.connection);
    if (this.closed) {
      return Promise.reject(
        new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: this.spec.id })
      );
    }
    if (this.spec.unavailable) {
      return Promise.reject(
        new GatewayError(
          'server_unavailable',
          `server ${this.spec.id} is unavailable: ${this.spec.unavailable}`,
          {
            serverId: this.spec.id
          }
        )
      );
    }
    if (Date.now() < this.failedUntil) {
      const retry = new Date(this.failedUntil).toISOString();
      return Promise.reject(
        new GatewayError(
          'server_unavailable',
          `server ${this.spec.id} ${this.failedBecause}; next try after ${retry}. Last error: ${this.lastErrorValue ?? 'unknown'}`,
          { serverId: this.spec.id }
        )
      );
    }
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Stops the running instance, if any. In-flight calls are not waited for here: the caller decides
   * (the idle timer only fires with none; shutdown drains first).
   */
  async stop(reason: string): Promise<void> {
    this.clearIdleTimer();
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.stopping) return this.stopping;
    const connection = this.connection;
    if (!connection) return;
    this.stopping = this.teardown(connection, reason).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Refuses new calls, aborts a start in progress, and stops the server. */
  async close(): Promise<void> {
    this.closed = true;
    this.shutdown.abort();
    await this.stop('shutdown');
  }

  private async start(): Promise<Connection> {
    if (this.stopping) await this.stopping;
    this.setState('starting');
    const began = performance.now();
    try {
      const connection = await this.connect();
      this.connection = connection;
      this.startedAtValue = new Date();
      if (this.starts++ > 0) this.log.info('server restarted');
      // A start that works clears the failed starts, not the crashes: a server that crashes soon
      // after every start must still be marked failed.
      this.failures = this.failures.filter(failure => failure.kind === 'crash');
      this.lastErrorValue = undefined;
      this.setState('ready');
      this.log.info({ ms: Math.round(performance.now() - began), era: this.prior?.kind }, 'server ready');
      this.emitLifecycle('started');
      connection.listed = this.listAll(connection);
      connection.listed.catch((error: unknown) => {
        this.log.warn({ err: describeError(error) }, 'listing the server after start failed');
      });
      return connection;
    } catch (error) {
      const failure =
        error instanceof GatewayError
          ? error
          : new GatewayError(
              'start_failed',
              `server ${this.spec.id} failed to start: ${describeError(error)}`,
              {
                cause: error,
                serverId: this.spec.id
              }
            );
      // An unreachable engine is not the server's fault: it does not count toward marking it failed,
      // so the server works again as soon as the engine answers.
      if (failure.code === 'engine_unreachable') {
        this.lastErrorValue = failure.message;
        this.setState('stopped');
      } else {
        this.recordFailure(failure.message, 'start');
      }
      throw failure;
    }
  }

  /** Counts a failed start or a crash; {@link FAILURE_LIMIT} of them in a minute mark the server failed. */
  private recordFailure(message: string, kind: Failure['kind']): void {
    const now = Date.now();
    this.lastErrorValue = message;
    this.failures = [
      ...this.failures.filter(failure => now - failure.at < FAILURE_WINDOW_MS),
      { at: now, kind }
    ];
    if (this.failures.length >= FAILURE_LIMIT) {
      this.failedUntil = now + FAILED_COOLDOWN_MS;
      this.failedBecause = describeFailures(this.failures);
      this.failures = [];
      this.setState('failed');
      this.log.error(
        { err: message, because: this.failedBecause, retryAfterMs: FAILED_COOLDOWN_MS },
        'server marked failed'
      );
    } else {
      this.setState('stopped');
      if (kind === 'start') this.log.warn({ err: message }, 'server start failed');
    }
  }

  /**
   * Starts the process and runs the MCP handshake in the era learned earlier, or probes for it.
   * A 2025-era server may exit when probed with `server/discover` before `initialize`; then it is
   * started once more and connected as legacy.
   */
  private async connect(): Promise<Connection> {
    if (this.prior) return this.handshake(this.prior);
    try {
      return await this.handshake(undefined);
    } catch (error) {
      if (this.closed || !(error instanceof ExitedDuringStart)) throw error;
      this.log.info('server exited on the era probe; connecting as a 2025-era server');
      return this.handshake({ kind: 'legacy' });
    }
  }

  private async handshake(prior: PriorDiscovery | undefined): Promise<Connection> {
    const link = await this.options.connector.open(this.shutdown.signal);
    // The SDK keeps the tool list fresh in both eras: unsolicited `list_changed` on 2025-era
    // connections, a `subscriptions/listen` stream it opens itself on 2026-era ones.
    const client = new Client(
      { name: this.options.identity.name, version: this.options.identity.version },
      {
        versionNegotiation: {
          mode: 'auto',
          // The probe is the first thing a server answers, so a server slow to start (an `npx`
          // download, a JVM) is slow to answer it: it gets all of startTimeout, like the handshake.
          probe: { timeoutMs: this.options.startTimeoutMs }
        },
        listChanged: {
          tools: {
            debounceMs: 100,
            onChanged: (error, tools) => {
              if (error || !tools || this.connection?.client !== client) return;
              this.report('tools', tools);
            }
          },
          prompts: {
            debounceMs: 100,
            onChanged: (error, prompts) => {
              if (error || !prompts || this.connection?.client !== client) return;
              this.report('prompts', prompts);
            }
          },
          resources: {
            debounceMs: 100,
            onChanged: (error, resources) => {
              if (error || !resources || this.connection?.client !== client) return;
              this.report('resources', resources);
              // One notification covers resources and their templates: list the templates anew.
              this.relist(client, 'resourceTemplates');
            }
          }
        }
      }
    );
    client.registerCapabilities(UPSTREAM_CLIENT_CAPABILITIES);
    const askers = new ClientAskers(this.spec.id);
    for (const method of CLIENT_REQUEST_METHODS) {
      // The server's request goes to the client whose call it serves, bounded like a call.
      client.setRequestHandler(
        method,
        (request, ctx) =>
          askers
            .pick(method, request.params)
            .ask(
              { method, ...(request.params ? { params: request.params } : {}) },
              { signal: ctx.mcpReq.signal, timeout: this.spec.callTimeoutMs }
            ) as never
      );
    }

    // Log messages: routed by what is in flight when they arrive (a stdio message names no request).
    client.setNotificationHandler('notifications/message', notification => {
      if (this.connection?.client === client) this.logs.deliver(notification.params);
    });
    client.setNotificationHandler('notifications/resources/updated', notification => {
      if (this.connection?.client !== client) return;
      for (const listener of this.listeners) listener.onResourceUpdated?.(this, notification.params.uri);
    });

    const inFlight = new Set<(error: unknown) => void>();
    void link.ended.then(end => {
      this.onEnd(client, link, end);
      const error = this.exitError(end);
      for (const reject of inFlight) reject(error);
    });
    link.onfault = fault => {
      // A fault cannot be tied to one request: every request waiting on the connection fails.
      const error =
        fault instanceof GatewayError
          ? new GatewayError(
              fault.code,
              `${fault.message} (the ${inFlight.size} call(s) waiting on the server failed with it)`,
              { cause: fault, serverId: this.spec.id }
            )
          : fault;
      this.log.warn(
        { err: fault.message, inFlight: inFlight.size },
        'connection fault: failing the calls in flight'
      );
      for (const reject of inFlight) reject(error);
    };

    // A probe gets all of startTimeout (a slow starter answers it late); on stdio the SDK falls
    // back to `initialize` only once it times out, so a server that ignores it needs time after.
    const startTimeoutMs = this.options.startTimeoutMs;
    const fallbackMs = prior ? 0 : Math.min(LEGACY_FALLBACK_MS, startTimeoutMs);
    const bound =
      fallbackMs > 0
        ? `within ${startTimeoutMs / 1000}s (startTimeout), nor ${fallbackMs / 1000}s after it as a 2025-era server that ignores the era probe`
        : `within ${startTimeoutMs / 1000}s (startTimeout)`;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new GatewayError(
              'start_failed',
              `server ${this.spec.id} did not complete the MCP handshake ${bound}`,
              {
                serverId: this.spec.id
              }
            )
          ),
        startTimeoutMs + fallbackMs
      );
    });
    const exitedEarly = (exit: LinkEnd) =>
      new ExitedDuringStart(`server ${this.spec.id} exited during start (${exit.reason})`, this.spec.id);
    const shutdown = new Promise<never>((_, reject) => {
      const abort = () =>
        reject(
          new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId: this.spec.id })
        );
      if (this.shutdown.signal.aborted) abort();
      else this.shutdown.signal.addEventListener('abort', abort, { once: true });
    });
    try {
      await Promise.race([
        client.connect(link.transport, {
          timeout: this.options.startTimeoutMs,
          ...(prior ? { prior } : {})
        }),
        link.ended.then(exit => {
          throw exitedEarly(exit);
        }),
        deadline,
        shutdown
      ]);
    } catch (error) {
      // A closed transport is usually the connection ending, with how it ended a moment behind:
      // look for the end before closing (a close would make any end look requested).
      const exit = error instanceof GatewayError ? undefined : await endWithin(link, 200);
      await client.close().catch(() => undefined);
      await link.close();
      if (error instanceof GatewayError) throw error;
      if (exit && !exit.requested) throw exitedEarly(exit);
      throw new GatewayError(
        'start_failed',
        `server ${this.spec.id} failed the MCP handshake: ${describeError(error)}`,
        {
          cause: error,
          serverId: this.spec.id
        }
      );
    } finally {
      clearTimeout(timer);
      shutdown.catch(() => undefined);
    }
    const discover = client.getDiscoverResult();
    this.prior =
      client.getProtocolEra() === 'modern' && discover ? { kind: 'modern', discover } : { kind: 'legacy' };
    this.log.debug({ label: link.label, era: this.prior.kind }, 'handshake done');
    this.instructionsValue = client.getInstructions();
    const offered = client.getServerCapabilities();
    this.capabilitiesValue = offered;
    if (this.prior.kind === 'legacy' && offered?.logging) {
      // One level for a server every session shares: all of it, filtered per caller by the gateway
      // (a 2026-era server is asked per request instead, by the caller's `_meta` logLevel). Not
      // awaited: written before any call, it reaches the server first.
      client.setLoggingLevel('debug', { timeout: this.options.startTimeoutMs }).catch((error: unknown) => {
        this.log.warn({ err: describeError(error) }, 'could not set the server log level to debug');
      });
    }
    const listen = {
      ...(offered?.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(offered?.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(offered?.resources?.listChanged ? { resourcesListChanged: true } : {})
    };
    if (this.prior.kind === 'modern' && Object.keys(listen).length > 0) {
      // A 2026-era connection hears of changes only on a listen stream, which a connect from a
      // stored verdict does not open by itself. Not awaited: a call need not wait for it.
      client.listen(listen).catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not open a listen stream');
      });
    }
    this.resubscribe(client);
    return { client, link, inFlight, askers };
  }

  /**
   * Lists every kind the server offers (the others as empty) and reports each. A kind other than
   * tools that fails to list is listed as empty (see {@link listKindOrNone}).
   */
  private async listAll(connection: Connection): Promise<Listing> {
    const { client } = connection;
    // Tracked like calls: an over-long line or an ended connection fails the listings at once.
    const [tools, prompts, resources, resourceTemplates] = await Promise.all(
      CAPABILITY_KINDS.map(kind => tracked(connection, listKindOrNone(client, kind, this.log)))
    );
    const listing = { tools, prompts, resources, resourceTemplates } as Listing;
    if (this.connection === connection || this.starting) {
      for (const kind of CAPABILITY_KINDS) this.report(kind, listing[kind]);
    }
    return listing;
  }

  /** Lists one kind again on `client` (after a `list_changed`) and reports it. */
  private relist(client: Client, kind: CapabilityKind): void {
    listKind(client, kind).then(
      items => {
        if (this.connection?.client === client) this.report(kind, items);
      },
      (error: unknown) => this.log.warn({ err: describeError(error), kind }, 'listing again failed')
    );
  }

  private report<K extends CapabilityKind>(kind: K, items: Listing[K]): void {
    for (const listener of this.listeners) {
      listener.onListed?.(this, kind, items, this.prior ?? { kind: 'legacy' });
    }
  }

  /**
   * `link` ended with `exit`. A crash counts toward marking the server failed; the next call
   * starts it again (unless it is marked failed).
   */
  private onEnd(client: Client, link: Link, exit: LinkEnd): void {
    if (this.connection?.link !== link) return;
    this.connection = undefined;
    this.clearIdleTimer();
    void client.close().catch(() => undefined);
    // Not awaited: with its engine gone, a container's stop may never finish.
    link.close().catch((error: unknown) => {
      this.log.warn({ err: describeError(error) }, 'stopping an ended server failed');
    });
    if (!exit.requested && exit.lost) {
      // Not the server's fault (its engine or its connection went away), as with a start the
      // engine refuses: not counted, so the server works again as soon as it can be reached.
      this.log.warn({ reason: exit.reason, inFlight: this.inFlightCount }, 'server lost with its engine');
      this.setState('stopped');
    } else if (!exit.requested) {
      this.emitLifecycle('crashed');
      this.log.error({ reason: exit.reason, inFlight: this.inFlightCount }, 'server exited unexpectedly');
      this.recordFailure(`server exited (${exit.reason})`, 'crash');
    } else if (this.stateValue !== 'stopping') this.setState('stopped');
  }

  private async teardown(connection: Connection, reason: string): Promise<void> {
    this.setState('stopping');
    this.log.info({ reason }, 'stopping server');
    this.connection = undefined;
    await connection.client.close().catch(() => undefined);
    await connection.link.close();
    this.setState('stopped');
    if (reason === 'idle') this.emitLifecycle('idle_stop');
  }

  private emitLifecycle(event: 'started' | 'idle_stop' | 'crashed'): void {
    for (const listener of this.listeners) listener.onLifecycle?.(this, event);
  }

  private callError(error: unknown, subject: Subject, signal: AbortSignal | undefined): unknown {
    if (error instanceof GatewayError) return error;
    const { kind, name } = subject;
    if (signal?.aborted) {
      return new GatewayError('cancelled', `call to ${this.spec.id}/${name} was cancelled`, {
        cause: error,
        serverId: this.spec.id
      });
    }
    if (error instanceof UndeliveredError) {
      // Sent twice (once on a new connection), never delivered: the connector's own account wins.
      if (error.cause instanceof GatewayError) return error.cause;
      return new GatewayError(
        'server_unavailable',
        `${kind} ${name} could not be sent to server ${this.spec.id}, not even on a new connection (${error.message}); check that the server is up and reachable`,
        { cause: error, serverId: this.spec.id }
      );
    }
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
      return new GatewayError(
        'call_timeout',
        `${kind} ${name} on server ${this.spec.id} did not finish within ${this.spec.callTimeoutMs / 1000}s (callTimeout); it was cancelled`,
        { cause: error, serverId: this.spec.id }
      );
    }
    if (error instanceof SdkError && error.code === SdkErrorCode.InvalidResult) {
      return new GatewayError(
        'invalid_result',
        `server ${this.spec.id} answered ${name} with an invalid result: ${error.message}`,
        { cause: error, serverId: this.spec.id }
      );
    }
    if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
      return new GatewayError(
        'server_exited',
        `server ${this.spec.id} exited during the call (its connection closed)`,
        {
          cause: error,
          serverId: this.spec.id
        }
      );
    }
    return error;
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    if (this.spec.idleTimeoutMs <= 0 || !this.connection || this.subscribed.size > 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlightCount === 0) void this.stop('idle');
    }, this.spec.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private setState(state: UpstreamState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.log.info({ state }, 'server state');
    for (const listener of this.listeners) listener.onState?.(this, state);
  }
}

/**
 * `request`, failed early with the connection's end or an over-long line on its stdout (both
 * reject everything in `inFlight`), rather than left to wait out its own timeout.
 */
function tracked<T>(connection: Connection, request: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    connection.inFlight.add(reject);
    request.then(resolve, reject).finally(() => connection.inFlight.delete(reject));
  });
}
