import type { CallToolResult, LoggingLevel, Progress } from '@modelcontextprotocol/server';
import { scopeOf, type Principal } from '../auth/principal.js';
import type { Catalog, CatalogCallOptions, KindRoute } from '../catalog/catalog.js';
import { describeError, GatewayError, toProtocolError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallOutcome, RequestRecord } from '../store/activity-log.js';
import { coldStartOf } from '../upstream/cold-start.js';
import type { LogHandler } from '../upstream/log-relay.js';
import type { ClientAsker } from '../upstream/client-askers.js';
import type { Retry } from '../upstream/caller-answers.js';
import type { Send, Subject } from '../upstream/upstream.js';

/** A finished call, as every observer sees it. */
export interface CallRecord extends RequestRecord {
  /** Time spent starting the server, for a cold call. */
  readonly startMs: number;
  /** The JSON-RPC code, for a call that ended in a protocol error. */
  readonly code: number | undefined;
  /** True when the name is in the catalog (false: unknown, or routed by decoding alone). */
  readonly listed: boolean;
}

/**
 * Whose login a per-user server's request uses: an authenticated principal's id; none for an
 * anonymous caller (authentication off), whom such a server refuses.
 */
function ownerOf(principal: Principal | undefined): string | undefined {
  return principal && principal.kind !== 'anonymous' ? principal.id : undefined;
}

/**
 * What the upstream is given for a request of `context`: its signal joined with `stopped` (the
 * shutdown's), the caller's sinks and asker, and whose login a per-user server uses.
 */
function requestOptions(context: CallContext, stopped: AbortSignal): CatalogCallOptions {
  return {
    signal: context.signal ? AbortSignal.any([context.signal, stopped]) : stopped,
    ...(context.onprogress ? { onprogress: context.onprogress } : {}),
    ...(context.onlog ? { onlog: context.onlog } : {}),
    ...(context.logLevel ? { logLevel: context.logLevel } : {}),
    ...(context.meta ? { meta: context.meta } : {}),
    ...(context.asker ? { asker: context.asker } : {}),
    ...(context.inputRequired ? { inputRequired: context.inputRequired } : {}),
    principal: ownerOf(context.principal)
  };
}

/** Told of every finished call. Must not throw, and must be quick: it runs on the call's path. */
export type CallObserver = (record: CallRecord) => void;

/** Who is calling, and how to reach them while the call runs. */
export interface CallContext {
  readonly sessionId?: string | undefined;
  readonly clientKey?: string | undefined;
  /** The profile the call came through (`/mcp/<profile>`); none for the root and the REST API. */
  readonly profile?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onprogress?: ((progress: Progress) => void) | undefined;
  /** Where the server's log messages during the call go (none without it). */
  readonly onlog?: LogHandler | undefined;
  /** The caller's log level, for a server that is told it per request. */
  readonly logLevel?: LoggingLevel | undefined;
  readonly meta?: Record<string, unknown> | undefined;
  /** Who is calling; a scoped principal may call only the tools in its scope. */
  readonly principal?: Principal | undefined;
  /** The client the server's own requests during the call go to (none: they are refused). */
  readonly asker?: ClientAsker | undefined;
  /** For a 2026-era caller: a server's `input_required` is passed back, and this retries one. */
  readonly inputRequired?: Retry | undefined;
}

export interface CallRunnerOptions {
  readonly catalog: Catalog;
  /** Told of every finished call. */
  readonly observe: CallObserver;
  /** A result bigger than this (as JSON) is replaced by a tool error. */
  readonly maxResultBytes: number;
}

/**
 * Runs `tools/call`s through the catalog and tells the observer how each went. The one path for
 * calls from MCP clients and from the REST API. `run` rejects with the local error (a
 * `GatewayError`) or the server's `ProtocolError`; converting it for the wire is the caller's job.
 */
export class CallRunner {
  /** Aborted by {@link stopCalls}; its reason says why. */
  private readonly stopping = new AbortController();
  private running = 0;

  constructor(private readonly options: CallRunnerOptions) {}

  /** Calls running now, from their start to their answer. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Ends every call still running, and every later one at once (shutdown, once the drain is over):
   * each is cancelled upstream and rejects with `server_unavailable` saying `why`, so its client is
   * answered on its own stream before the sessions and servers close. Idempotent.
   */
  stopCalls(why: string): void {
    this.stopping.abort(why);
  }

  /** Whether `principal` may see and call `name` (an exposed name). */
  allows(principal: Principal | undefined, name: string): boolean {
    if (!principal || (principal.servers === undefined && principal.tools === undefined)) return true;
    try {
      return scopeOf(principal)(this.options.catalog.resolve(name).serverId, name);
    } catch {
      return false;
    }
  }

  /**
   * Whether `principal` may use the prompts and resources of `serverId`. A token's `tools` globs
   * name tools only, so a token scoped by them alone reaches no prompt or resource; its `servers`
   * list opens every kind of the servers it names.
   */
  allowsServer(principal: Principal | undefined, serverId: string): boolean {
    if (!principal || (principal.servers === undefined && principal.tools === undefined)) return true;
    return principal.servers?.includes(serverId) ?? false;
  }

  /**
   * Sends a request other than `tools/call` (a prompt, a resource read, a completion) to the server
   * `route` leads to: within the caller's scope, stopped by {@link stopCalls} like a call, under the
   * upstream's slots and timeout. Rejects like {@link run}.
   */
  async forward<T>(route: KindRoute, subject: Subject, send: Send<T>, context: CallContext = {}): Promise<T> {
    const stopped = this.stopping.signal;
    const stoppedError = () =>
      new GatewayError(
        'server_unavailable',
        `${String(stopped.reason)}: ${subject.kind} ${subject.name} was stopped; ask again once the gateway is back`,
        { serverId: route.serverId }
      );
    if (stopped.aborted) throw stoppedError();
    if (!this.allowsServer(context.principal, route.serverId)) {
      throw new GatewayError(
        'forbidden',
        `the ${subject.kind}s of server ${route.serverId} are outside the scope of ${context.principal!.id}`
      );
    }
    this.running++;
    try {
      const request = this.options.catalog.request(route, subject, send, requestOptions(context, stopped));
      return (await untilAborted(request, stopped, stoppedError)).result;
    } finally {
      this.running--;
    }
  }

  async run(name: string, args: unknown, context: CallContext = {}): Promise<CallToolResult> {
    const { catalog, observe } = this.options;
    const startedAt = Date.now();
    const began = performance.now();
    const bytesIn = args === undefined ? 0 : Buffer.byteLength(JSON.stringify(args));
    const base = {
      sessionId: context.sessionId,
      clientKey: context.clientKey,
      profile: context.profile,
      tool: name,
      startedAt,
      bytesIn
    };
    this.running++;
    const stopped = this.stopping.signal;
    try {
      if (stopped.aborted) throw this.stoppedError(name);
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        throw new GatewayError('invalid_arguments', `arguments of ${name} must be a JSON object`);
      }
      if (!this.allows(context.principal, name)) {
        throw new GatewayError('forbidden', `tool ${name} is outside the scope of ${context.principal!.id}`);
      }
      const call = catalog.callTool(
        name,
        (args ?? {}) as Record<string, unknown>,
        requestOptions(context, stopped)
      );
      // Not every wait honours the signal at once (a queue slot, a cold start): the stop does.
      const outcome = await untilAborted(call, stopped, () => this.stoppedError(name));
      let result = outcome.result;
      let bytesOut = Buffer.byteLength(JSON.stringify(result));
      if (bytesOut > this.options.maxResultBytes) {
        result = {
          content: [
            {
              type: 'text',
              text: `The result of ${name} was ${bytesOut} bytes, over the gateway's limit of ${this.options.maxResultBytes} bytes; it was not passed back.`
            }
          ],
          isError: true
        };
        bytesOut = Buffer.byteLength(JSON.stringify(result));
      }
      observe({
        ...base,
        // A name routed by decoding alone is the client's text: counted, but not as a tool.
        // Asked now, not at routing: a call that started its server may have just listed it.
        listed: outcome.listed || catalog.isListed(name),
        serverId: outcome.route.serverId,
        durationMs: performance.now() - began,
        outcome: result.isError ? 'tool_error' : 'ok',
        error: undefined,
        bytesOut,
        cold: outcome.cold,
        startMs: outcome.startMs,
        code: undefined
      });
      return result;
    } catch (thrown) {
      // Stopped by shutdown, whatever the upstream made of its cancellation.
      const error = stopped.aborted && !context.signal?.aborted ? this.stoppedError(name) : thrown;
      observe({
        ...base,
        listed: catalog.isListed(name),
        serverId: error instanceof GatewayError ? error.serverId : serverOf(catalog, name),
        durationMs: performance.now() - began,
        outcome: outcomeOf(error),
        error: describeError(error),
        bytesOut: 0,
        // A call that failed may still have paid a start (or failed in it).
        ...coldStartOf(error),
        code: toProtocolError(error).code
      });
      throw error;
    } finally {
      this.running--;
    }
  }

  private stoppedError(name: string): GatewayError {
    const serverId = serverOf(this.options.catalog, name);
    return new GatewayError(
      'server_unavailable',
      `${String(this.stopping.signal.reason)}: ${name} was still running, so it was stopped; call it again once the gateway is back`,
      serverId === undefined ? {} : { serverId }
    );
  }
}

/** `promise`, or a rejection with `error()` as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(error());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function serverOf(catalog: Catalog, name: string): string | undefined {
  try {
    return catalog.resolve(name).serverId;
  } catch {
    return undefined;
  }
}

function outcomeOf(error: unknown): CallOutcome {
  if (error instanceof GatewayError) {
    if (error.code === 'call_timeout') return 'timeout';
    if (error.code === 'cancelled') return 'cancelled';
  }
  return 'protocol_error';
}

/** The per-call log line: server, tool, duration, outcome, and whether it paid a cold start. */
export function logCall(log: Logger): CallObserver {
  return record => {
    log.info(
      {
        tool: record.tool,
        server: record.serverId,
        session: record.sessionId,
        client: record.clientKey,
        profile: record.profile, // left out of the line when undefined, as session and client are
        ms: Math.round(record.durationMs),
        outcome: record.outcome,
        cold: record.cold,
        ...(record.cold ? { startMs: Math.round(record.startMs) } : {}),
        ...(record.error === undefined ? {} : { err: record.error, code: record.code })
      },
      'tools/call'
    );
  };
}
