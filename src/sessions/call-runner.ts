import type { CallToolResult, Progress } from '@modelcontextprotocol/server';
import { scopeOf, type Principal } from '../auth/principal.js';
import type { Catalog } from '../catalog/catalog.js';
import { describeError, GatewayError, toProtocolError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallOutcome, RequestRecord } from '../store/activity-log.js';
import { coldStartOf } from '../upstream/cold-start.js';

/** A finished call, as every observer sees it. */
export interface CallRecord extends RequestRecord {
  /** Time spent starting the server, for a cold call. */
  readonly startMs: number;
  /** The JSON-RPC code, for a call that ended in a protocol error. */
  readonly code: number | undefined;
  /** True when the name is in the catalog (false: unknown, or routed by decoding alone). */
  readonly listed: boolean;
}

/** Told of every finished call. Must not throw, and must be quick: it runs on the call's path. */
export type CallObserver = (record: CallRecord) => void;

/** Who is calling, and how to reach them while the call runs. */
export interface CallContext {
  readonly sessionId?: string | undefined;
  readonly clientKey?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onprogress?: ((progress: Progress) => void) | undefined;
  readonly meta?: Record<string, unknown> | undefined;
  /** Who is calling; a scoped principal may call only the tools in its scope. */
  readonly principal?: Principal | undefined;
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
  constructor(private readonly options: CallRunnerOptions) {}

  /** Whether `principal` may see and call `name` (an exposed name). */
  allows(principal: Principal | undefined, name: string): boolean {
    if (!principal || (principal.servers === undefined && principal.tools === undefined)) return true;
    try {
      return scopeOf(principal)(this.options.catalog.resolve(name).serverId, name);
    } catch {
      return false;
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
      tool: name,
      startedAt,
      bytesIn
    };
    try {
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        throw new GatewayError('invalid_arguments', `arguments of ${name} must be a JSON object`);
      }
      if (!this.allows(context.principal, name)) {
        throw new GatewayError('forbidden', `tool ${name} is outside the scope of ${context.principal!.id}`);
      }
      const outcome = await catalog.callTool(name, (args ?? {}) as Record<string, unknown>, {
        ...(context.signal ? { signal: context.signal } : {}),
        ...(context.onprogress ? { onprogress: context.onprogress } : {}),
        ...(context.meta ? { meta: context.meta } : {})
      });
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
    } catch (error) {
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
    }
  }
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
