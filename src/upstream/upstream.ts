import {
  CLIENT_CAPABILITIES_META_KEY,
  Client,
  LOG_LEVEL_META_KEY,
  type LoggingLevel,
  type PriorDiscovery,
  type RequestOptions,
  type ServerCapabilities
} from '@modelcontextprotocol/client';
import type { CallToolResult, Progress } from '@modelcontextprotocol/client';
import { liveChanges, type LiveSetting } from '../config/live-settings.js';
import type { ServerSpec } from '../config/server-spec.js';
import { UndeliveredError, type Connector, type Link, type LinkEnd } from '../connectors/connector.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { CallToolResultShape } from './call-tool-result-shape.js';
import { withCallerAnswers, type Retry } from './caller-answers.js';
import { callerCapabilities, ClientAskers, type ClientAsker } from './client-askers.js';
import { coldStartOf, withColdStart, type ColdStart } from './cold-start.js';
import { FAILED_COOLDOWN_MS, FailureWindow } from './failure-window.js';
import { handshakeInEra } from './handshake.js';
import { canMove, reportedState, type Lifecycle, type UpstreamState } from './lifecycle.js';
import { CAPABILITY_KINDS, listKindOrNone, type CapabilityKind, type Listing } from './listing.js';
import { withoutHopMeta } from './hop-meta.js';
import { LogRelay, type LogHandler, type LogMessage } from './log-relay.js';
import {
  callError,
  endError,
  queueTimeoutError,
  requestError,
  shuttingDownError,
  type FailedPeriod,
  type Subject
} from './request-errors.js';
import { Slots } from './slots.js';
import { SubscribedResources } from './subscribed-resources.js';
import { newUpstreamClient, type ClientIdentity } from './upstream-client.js';

export type { Subject } from './request-errors.js';
export type { UpstreamState } from './lifecycle.js';
export type { ClientIdentity } from './upstream-client.js';

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
  readonly inputRequired?: Retry | undefined;
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
 * Sends one request on a connected client; the options carry the timeout, signal and progress,
 * `hopMeta` the `_meta` keys this server is to be told besides the caller's (see {@link CallOptions}),
 * and `retry` what a retry of an `input_required` adds to the request's params (empty otherwise).
 */
export type Send<T> = (
  client: Client,
  options: RequestOptions,
  hopMeta: Record<string, unknown>,
  retry: Retry
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

/**
 * One MCP server behind the gateway: at most one connection (a {@link Link} its connector opens),
 * shared by every client session, with calls multiplexed over it by JSON-RPC id.
 *
 * Its {@link Lifecycle} is one state, changed only by {@link moveTo}: `stopped → starting → ready →
 * stopping → stopped`, `→ failed` after too many failed starts or crashes (see
 * {@link FailureWindow}), `→ closed` at shutdown. Exactly one start runs at a time: concurrent
 * first calls share it. The idle timer runs only while no call is in flight, so a long call is
 * never cut off by it. A connection's end fails the calls in flight and lets the next call start
 * the server again. The rules are in README.md beside this file.
 */
export class Upstream {
  private specValue: ServerSpec;
  /** The era to connect in, as learned earlier; undefined means probe. Set by the catalog. */
  prior: PriorDiscovery | undefined;
  /**
   * Asked before every start with the runtime's identity of the server (a Docker image id; undefined
   * when there is none or it cannot be known now); a rejection (a `GatewayError`) holds the start,
   * which fails with it. Set by the catalog, which pins image ids.
   */
  admit: ((identity: string | undefined) => Promise<void> | void) | undefined;

  private lifecycle: Lifecycle<Connection> = { kind: 'stopped' };
  private idleTimer: NodeJS.Timeout | undefined;
  /** Requests in a slot or starting the server. */
  private inFlightCount = 0;
  /**
   * Requests between two rounds, waiting for their caller's answers: in no slot, but in flight all
   * the same, so the idle timer must not stop the server their next round goes to.
   */
  private answeringCount = 0;
  /**
   * Discoveries under way: they keep the idle timer off as calls do, but are no caller's call, so
   * {@link status} leaves them out (shutdown and a reload's drain do not wait for a listing).
   */
  private discoveringCount = 0;
  /** Calls ever made; discovery compares it to see whether anyone used the server meanwhile. */
  private callCount = 0;
  private readonly failures = new FailureWindow();
  private lastErrorValue: string | undefined;
  private startedAtValue: Date | undefined;
  private lastUsedValue: Date | undefined;
  private starts = 0;
  private instructionsValue: string | undefined;
  private capabilitiesValue: ServerCapabilities | undefined;
  /** Aborted by close(): starts in progress give up, and no new one begins. */
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
   * The server's own URIs the gateway is subscribed to. While there is one, the server is not
   * stopped for idleness: a stopped server sends no `notifications/resources/updated`.
   */
  private readonly subscribed: SubscribedResources;

  constructor(private readonly options: UpstreamOptions) {
    this.specValue = options.spec;
    this.slots = new Slots(
      options.spec.maxConcurrency,
      options.spec.maxQueue,
      () =>
        new GatewayError(
          'server_busy',
          `server ${this.spec.id} is busy: ${this.spec.maxConcurrency} calls in flight and ${this.spec.maxQueue} waiting`,
          { serverId: this.spec.id }
        )
    );
    this.log = options.log.child({ server: options.spec.id });
    this.subscribed = new SubscribedResources(this.log);
  }

  /** The server's settings: those it was made with, or the last {@link update}'s. */
  get spec(): ServerSpec {
    return this.specValue;
  }

  /**
   * Takes `spec`, which differs from the current one in live settings only ({@link liveChanges}; a
   * reload): the connection, the calls in flight and those waiting are kept. Calls from now on get
   * the new `callTimeout`, the slots the new bounds, and an idle timer starts over with the new
   * `idleTimeout`. Returns the settings that changed; throws, changing nothing, when anything else
   * differs.
   */
  update(spec: ServerSpec): LiveSetting[] {
    const changed = spec.id === this.spec.id ? liveChanges(this.spec, spec) : undefined;
    if (changed === undefined) {
      throw new Error(`server ${this.spec.id}: only its live settings can change in place`);
    }
    this.specValue = spec;
    this.slots.resize(spec.maxConcurrency, spec.maxQueue);
    if (this.inFlight === 0) this.armIdleTimer();
    return changed;
  }

  /** Registers a listener for state and tool changes; returns a function that removes it. */
  addListener(listener: UpstreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The catalog fingerprint: the config's, plus what the connector adds (an image id). */
  async fingerprint(): Promise<string> {
    const extra = await this.identity();
    return extra === undefined ? this.spec.fingerprint : `${this.spec.fingerprint}:${extra}`;
  }

  /** What the runtime identifies the server by beyond its config (a Docker image id), if anything now. */
  identity(): Promise<string | undefined> {
    return this.options.connector.identify?.().catch(() => undefined) ?? Promise.resolve(undefined);
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): UpstreamState {
    return reportedState(this.lifecycle.kind);
  }

  /** The connection while ready. */
  private get connection(): Connection | undefined {
    return this.lifecycle.kind === 'ready' ? this.lifecycle.connection : undefined;
  }

  /** The failed period the server is in, if any. */
  private get failedPeriod(): FailedPeriod | undefined {
    const state = this.lifecycle;
    return state.kind === 'failed' && Date.now() < state.until ? state : undefined;
  }

  /** The server's own `instructions`, as it gave them at its last handshake. */
  get instructions(): string | undefined {
    return this.instructionsValue;
  }

  /** What the server offered at its last handshake (undefined before its first start). */
  get capabilities(): ServerCapabilities | undefined {
    return this.capabilitiesValue;
  }

  /** Callers' requests under way: in a slot, starting the server, or waiting for their caller's answers. */
  private get calls(): number {
    return this.inFlightCount + this.answeringCount;
  }

  /** Everything that keeps the server from its idle stop: callers' requests and discoveries. */
  private get inFlight(): number {
    return this.calls + this.discoveringCount;
  }

  /** A snapshot for health and status views. */
  status() {
    return {
      id: this.spec.id,
      runtime: this.spec.kind,
      state: this.state,
      startedAt: this.startedAtValue?.toISOString() ?? null,
      lastUsed: this.lastUsedValue?.toISOString() ?? null,
      inFlight: this.calls,
      // Starts after the first: crash recoveries and starts after an idle stop.
      restarts: Math.max(0, this.starts - 1),
      lastError: this.spec.unavailable ?? this.lastErrorValue ?? null
    };
  }

  /** The last lines the server wrote to stderr, oldest first; none for a remote server. */
  stderrTail(): string[] {
    return this.options.connector.stderrTail?.() ?? [];
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
      (client, requestOptions, hopMeta, retry) => {
        const meta = { ...options.meta, ...hopMeta };
        return client.request(
          {
            method: 'tools/call',
            params: {
              name: tool,
              arguments: args,
              ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
              ...retry
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
      (client, sent) => this.subscribed.send(client, uri, 'subscribe', sent),
      options
    );
    this.subscribed.add(uri);
    if (this.inFlight === 0) this.clearIdleTimer();
  }

  /** Ends the subscription to `uri`. A server not running has none to end: nothing is started. */
  async unsubscribeResource(uri: string, options: CallOptions = {}): Promise<void> {
    if (!this.subscribed.delete(uri) || !this.connection) {
      if (this.inFlight === 0) this.armIdleTimer();
      return;
    }
    await this.request(
      { kind: 'resource', name: uri },
      (client, sent) => this.subscribed.send(client, uri, 'unsubscribe', sent),
      options
    );
  }

  /**
   * Sends one request to the server by way of `send`, under the rules every request follows: a
   * slot (`maxConcurrency`, `maxQueue`), `callTimeout` counted from the queue, a cold start if the
   * server is not running, cancellation by `options.signal`, progress to `options.onprogress`, and
   * the idle timer held off while it runs. Rejects like {@link callTool}.
   */
  async request<T>(subject: Subject, send: Send<T>, options: CallOptions = {}): Promise<RequestOutcome<T>> {
    const { asker } = options;
    // A caller that is not handed input_required (a 2025-era session) is asked a 2026-era server's
    // questions here, in rounds: they come back with the request they belong to, so they reach that
    // caller even when other clients' requests share the connection.
    if (options.inputRequired !== undefined || !asker) return this.requestRound(subject, send, options);
    // The request was cold if any round had to start the server, failed or not.
    let cold = false;
    let startMs = 0;
    const paid = (round: ColdStart) => {
      cold ||= round.cold;
      startMs += round.startMs;
    };
    // Counted once at every moment: by the round once it holds a slot, as answering before that
    // (between rounds, and while a later round waits for a slot).
    let answering = false;
    const answeringNow = (now: boolean) => {
      if (now === answering) return;
      answering = now;
      this.answeringCount += now ? 1 : -1;
      if (now) this.clearIdleTimer();
      else if (this.inFlight === 0) this.armIdleTimer();
    };
    try {
      const outcome = await withCallerAnswers(
        { serverId: this.spec.id, asker, signal: options.signal, answerTimeoutMs: this.spec.callTimeoutMs },
        async retry => {
          const inRound = { ...options, inputRequired: retry };
          const round = await this.requestRound(subject, send, inRound, () => answeringNow(false)).catch(
            (error: unknown) => {
              paid(coldStartOf(error));
              throw error;
            }
          );
          paid(round);
          answeringNow(true);
          return round;
        }
      );
      return { ...outcome, cold, startMs };
    } catch (error) {
      // A failure of the asking (a cancel, an unanswered question) becomes a local error naming the
      // server, as a round's failure already is.
      throw withColdStart(callError(this.spec, error, subject, options.signal), { cold, startMs });
    } finally {
      answeringNow(false);
    }
  }

  /**
   * One round of {@link request}: with `options.inputRequired`, an `input_required` result comes
   * back. `inSlot` runs once the round holds its slot, just before it is counted in flight.
   */
  private async requestRound<T>(
    subject: Subject,
    send: Send<T>,
    options: CallOptions,
    inSlot?: () => void
  ): Promise<RequestOutcome<T>> {
    const began = performance.now();
    if (!this.slots.tryAcquire()) await this.waitForSlot(subject, options.signal);
    try {
      inSlot?.();
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
    const queue = new AbortController();
    const timer = setTimeout(() => queue.abort(), this.spec.callTimeoutMs);
    try {
      await this.slots.acquire(signal ? AbortSignal.any([signal, queue.signal]) : queue.signal);
    } catch (error) {
      if (queue.signal.aborted && !signal?.aborted) throw queueTimeoutError(this.spec, subject, error);
      throw callError(this.spec, error, subject, signal);
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
      // The queue took its share of callTimeout, and so does a first send that never arrived; a
      // cold start has its own bound (startTimeout).
      let timeoutMs = this.spec.callTimeoutMs - queuedMs;
      let retried = false;
      for (;;) {
        const { connection } = attempt;
        const sentAt = performance.now();
        try {
          const result = await this.sendOn(connection, send, options, Math.max(1, timeoutMs));
          return { result, cold, startMs };
        } catch (error) {
          if (error instanceof UndeliveredError && !retried && !options.signal?.aborted) {
            // It never reached the server: safe to send once more, on a new connection.
            retried = true;
            timeoutMs -= performance.now() - sentAt;
            this.retire(connection, error);
            attempt = await this.connectionFor(subject, options);
            cold ||= attempt.cold;
            startMs += attempt.startMs;
            continue;
          }
          const ended = () =>
            connection.link.ended.then(end => endError(this.id, end, this.failedPeriod, error));
          throw withColdStart(
            await requestError(this.spec, error, subject, { signal: options.signal, queuedMs, ended }),
            {
              cold,
              startMs
            }
          );
        }
      }
    } finally {
      this.inFlightCount--;
      this.lastUsedValue = new Date();
      if (this.inFlight === 0) this.armIdleTimer();
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
      throw withColdStart(callError(this.spec, error, subject, options.signal), {
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
      this.hopMeta(options),
      options.inputRequired ?? {}
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
    this.clearIdleTimer();
    this.moveTo({ kind: 'stopped' });
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

  /**
   * Lists every kind of the server's capabilities, starting it if needed, and reports them to the
   * listener. Used for discovery: a server started only for this is stopped again right away.
   */
  async discover(): Promise<Listing> {
    const wasRunning = this.connection !== undefined;
    const callsBefore = this.callCount;
    this.discoveringCount++;
    this.clearIdleTimer();
    try {
      const connection = await this.ensureStarted();
      // A start this call caused has just listed everything; a server already running is asked anew.
      return await (!wasRunning && connection.listed ? connection.listed : this.listAll(connection));
    } finally {
      this.discoveringCount--;
      if (this.inFlight === 0) {
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
    if (this.inFlight === 0) this.armIdleTimer();
  }

  /** Starts the server if it is not running (shared by concurrent callers). */
  ensureStarted(): Promise<Connection> {
    const state = this.lifecycle;
    if (state.kind === 'ready') return Promise.resolve(state.connection);
    if (state.kind === 'starting') return state.promise;
    if (state.kind === 'closed' || this.shutdown.signal.aborted) {
      return Promise.reject(shuttingDownError(this.spec.id));
    }
    // A start waits for a stop in progress; the callers waiting meanwhile then share one start.
    if (state.kind === 'stopping') return state.promise.then(() => this.ensureStarted());
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
    const failed = this.failedPeriod;
    if (failed) {
      const retry = new Date(failed.until).toISOString();
      return Promise.reject(
        new GatewayError(
          'server_unavailable',
          `server ${this.spec.id} ${failed.because}; next try after ${retry}. Last error: ${this.lastErrorValue ?? 'unknown'}`,
          { serverId: this.spec.id }
        )
      );
    }
    const promise = this.start();
    this.moveTo({ kind: 'starting', promise });
    return promise;
  }

  /**
   * Stops the running instance, if any. In-flight calls are not waited for here: the caller decides
   * (the idle timer only fires with none; shutdown drains first).
   */
  async stop(reason: string): Promise<void> {
    this.clearIdleTimer();
    let state = this.lifecycle;
    if (state.kind === 'starting') {
      await state.promise.catch(() => undefined);
      state = this.lifecycle;
    }
    if (state.kind === 'stopping') return state.promise;
    if (state.kind !== 'ready') return;
    const promise = this.teardown(state.connection, reason);
    this.moveTo({ kind: 'stopping', promise });
    return promise;
  }

  /** Refuses new calls, aborts a start in progress, and stops the server; then it is closed for good. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.stop('shutdown');
    if (this.lifecycle.kind !== 'closed') this.moveTo({ kind: 'closed' });
  }

  /**
   * Connects, moving `starting` on to `ready`, or to `stopped` or `failed` when it cannot. Runs only
   * from {@link ensureStarted}, which has just moved to `starting`: the first await comes before
   * any move of its own.
   */
  private async start(): Promise<Connection> {
    await Promise.resolve();
    const began = performance.now();
    try {
      if (this.admit) await this.admit(await this.identity());
      const connection = await this.connect();
      this.moveTo({ kind: 'ready', connection });
      this.startedAtValue = new Date();
      if (this.starts++ > 0) this.log.info('server restarted');
      this.failures.started();
      this.lastErrorValue = undefined;
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
      // An unreachable engine, an image that cannot be pulled, a remote server that needs a login
      // first, or an image held until approved is not the server's fault: it does not count toward
      // marking it failed, so the server works again as soon as the engine answers, the image is on
      // it, someone logs in or approves. (The Docker runtime bounds how often it retries a pull.)
      // Nor does a remote server that could not be reached at once (refused, DNS, HTTP 5xx): trying
      // again costs a connect, and it serves again the moment it is back, as after a lost connection.
      // One that let the start run out its startTimeout does count, so callers do not each wait it out.
      const timedOut = performance.now() - began >= this.options.startTimeoutMs;
      if (
        failure.code === 'engine_unreachable' ||
        failure.code === 'image_unavailable' ||
        failure.code === 'login_required' ||
        failure.code === 'quarantined' ||
        (failure.code === 'remote_unreachable' && !timedOut)
      ) {
        this.lastErrorValue = failure.message;
        this.moveTo({ kind: 'stopped' });
      } else {
        this.recordFailure(failure.message, 'start');
      }
      throw failure;
    }
  }

  /**
   * Counts a failed start or a crash (the state is `starting` or `ready`): too many in a minute mark
   * the server failed, otherwise it is stopped and the next call starts it again.
   */
  private recordFailure(message: string, kind: 'start' | 'crash'): void {
    this.lastErrorValue = message;
    const because = this.failures.record(kind);
    if (because === undefined) {
      this.moveTo({ kind: 'stopped' });
      if (kind === 'start') this.log.warn({ err: message }, 'server start failed');
      return;
    }
    this.moveTo({ kind: 'failed', until: Date.now() + FAILED_COOLDOWN_MS, because });
    this.log.error({ err: message, because, retryAfterMs: FAILED_COOLDOWN_MS }, 'server marked failed');
  }

  /**
   * Opens a connection and runs the handshake (see {@link handshakeInEra}), then readies it: the
   * log level and listen stream its era needs, the resources subscribed before, and the link's end
   * and faults wired to the requests in flight.
   */
  private async connect(): Promise<Connection> {
    const askers = new ClientAskers(this.spec.id);
    const { client, link, era } = await handshakeInEra(this.prior, {
      serverId: this.spec.id,
      connector: this.options.connector,
      startTimeoutMs: this.options.startTimeoutMs,
      shutdown: this.shutdown.signal,
      log: this.log,
      newClient: () => this.newClient(askers)
    });
    this.prior = era;
    const inFlight = new Set<(error: unknown) => void>();
    void link.ended.then(end => {
      this.onEnd(client, link, end);
      const error = endError(this.id, end, this.failedPeriod);
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
    this.instructionsValue = client.getInstructions();
    const offered = client.getServerCapabilities();
    this.capabilitiesValue = offered;
    if (era.kind === 'legacy' && offered?.logging) {
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
    if (era.kind === 'modern' && Object.keys(listen).length > 0) {
      // A 2026-era connection hears of changes only on a listen stream, which a connect from a
      // stored verdict does not open by itself. Not awaited: a call need not wait for it.
      client.listen(listen).catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not open a listen stream');
      });
    }
    this.subscribed.resubscribe(client);
    return { client, link, inFlight, askers };
  }

  /** A new client for one connection (see {@link newUpstreamClient}); its events reach the listeners. */
  private newClient(askers: ClientAskers): Client {
    return newUpstreamClient({
      identity: this.options.identity,
      probeTimeoutMs: this.options.startTimeoutMs,
      callTimeoutMs: this.spec.callTimeoutMs,
      askers,
      isCurrent: client => this.connection?.client === client,
      events: {
        listed: (kind, items) => this.report(kind, items),
        log: message => this.logs.deliver(message),
        resourceUpdated: uri => {
          for (const listener of this.listeners) listener.onResourceUpdated?.(this, uri);
        }
      },
      log: this.log
    });
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
    if (this.connection === connection || this.lifecycle.kind === 'starting') {
      for (const kind of CAPABILITY_KINDS) this.report(kind, listing[kind]);
    }
    return listing;
  }

  private report<K extends CapabilityKind>(kind: K, items: Listing[K]): void {
    for (const listener of this.listeners) {
      listener.onListed?.(this, kind, items, this.prior ?? { kind: 'legacy' });
    }
  }

  /**
   * `link` ended with `end`. A crash counts toward marking the server failed; the next call starts
   * it again (unless it is marked failed). An end of a connection no longer the ready one (stopped,
   * retired, never ready) changes nothing.
   */
  private onEnd(client: Client, link: Link, end: LinkEnd): void {
    if (this.connection?.link !== link) return;
    this.clearIdleTimer();
    void client.close().catch(() => undefined);
    // Not awaited: with its engine gone, a container's stop may never finish.
    link.close().catch((error: unknown) => {
      this.log.warn({ err: describeError(error) }, 'stopping an ended server failed');
    });
    if (end.requested) {
      this.moveTo({ kind: 'stopped' });
    } else if (end.lost) {
      // Not the server's fault (its engine or its connection went away), as with a start the
      // engine refuses: not counted, so the server works again as soon as it can be reached.
      this.log.warn(
        { reason: end.reason, inFlight: this.inFlight },
        'lost the connection to the server (its engine or its network went away)'
      );
      this.moveTo({ kind: 'stopped' });
    } else {
      this.emitLifecycle('crashed');
      this.log.error({ reason: end.reason, inFlight: this.inFlight }, 'server exited unexpectedly');
      this.recordFailure(`server exited (${end.reason})`, 'crash');
    }
  }

  /** Closes `connection` (the state is `stopping`), then moves to `stopped`. */
  private async teardown(connection: Connection, reason: string): Promise<void> {
    // Not awaited before the move to `stopping`: ensureStarted sees it and waits for it.
    await Promise.resolve();
    this.log.info({ reason }, 'stopping server');
    await connection.client.close().catch(() => undefined);
    await connection.link.close();
    this.moveTo({ kind: 'stopped' });
    if (reason === 'idle') this.emitLifecycle('idle_stop');
  }

  private emitLifecycle(event: 'started' | 'idle_stop' | 'crashed'): void {
    for (const listener of this.listeners) listener.onLifecycle?.(this, event);
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    if (this.spec.idleTimeoutMs <= 0 || !this.connection || this.subscribed.size > 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlight === 0) void this.stop('idle');
    }, this.spec.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /**
   * The one way the lifecycle changes: to `next` when the current state allows it (see
   * lifecycle.ts), telling the listeners when the reported state changes. A move the current state
   * does not allow is a bug; it is logged and refused rather than thrown, since it may come from an
   * event handler with nobody to catch it.
   */
  private moveTo(next: Lifecycle<Connection>): void {
    const from = this.lifecycle.kind;
    if (from === next.kind && from === 'stopped') return;
    if (!canMove(from, next.kind)) {
      this.log.error({ from, to: next.kind }, 'refused a lifecycle move the upstream does not allow');
      return;
    }
    const before = this.state;
    this.lifecycle = next;
    const state = this.state;
    if (state === before) return;
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
