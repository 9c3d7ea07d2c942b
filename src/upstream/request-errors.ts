import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/server-spec.js';
import { UndeliveredError, type LinkEnd } from '../connectors/connector.js';
import { GatewayError } from '../errors.js';

/**
 * What a request is about, for its error messages: `tool` and the server's own name of the tool,
 * `prompt` and a prompt's name, `resource` and a URI.
 */
export interface Subject {
  readonly kind: 'tool' | 'prompt' | 'resource' | 'completion';
  readonly name: string;
}

/** The server's failed period, if it is in one: until when, and what marked it failed. */
export interface FailedPeriod {
  readonly until: number;
  readonly because: string;
}

type Server = Pick<ServerSpec, 'id' | 'callTimeoutMs' | 'maxConcurrency'>;

/**
 * The local error for a failure of a request (or of the start it waited for): a `GatewayError`
 * passes as it is; the SDK's timeouts, invalid results and closed connections, a cancellation and
 * an undelivered send become `GatewayError`s naming the server; anything else (the server's own
 * `ProtocolError`) passes through.
 */
export function callError(
  server: Server,
  error: unknown,
  subject: Subject,
  signal: AbortSignal | undefined
): unknown {
  if (error instanceof GatewayError) return error;
  const { kind, name } = subject;
  const serverId = server.id;
  if (signal?.aborted) {
    return new GatewayError('cancelled', `call to ${serverId}/${name} was cancelled`, {
      cause: error,
      serverId
    });
  }
  if (error instanceof UndeliveredError) {
    // Sent twice (once on a new connection), never delivered: the connector's own account wins.
    if (error.cause instanceof GatewayError) return error.cause;
    return new GatewayError(
      'server_unavailable',
      `${kind} ${name} could not be sent to server ${serverId}, not even on a new connection (${error.message}); check that the server is up and reachable`,
      { cause: error, serverId }
    );
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    return new GatewayError(
      'call_timeout',
      `${kind} ${name} on server ${serverId} did not finish within ${server.callTimeoutMs / 1000}s (callTimeout); it was cancelled`,
      { cause: error, serverId }
    );
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.InvalidResult) {
    return new GatewayError(
      'invalid_result',
      `server ${serverId} answered ${name} with an invalid result: ${error.message}`,
      { cause: error, serverId }
    );
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    return new GatewayError(
      'server_exited',
      `server ${serverId} exited during the call (its connection closed)`,
      {
        cause: error,
        serverId
      }
    );
  }
  return error;
}

/**
 * The error a request sent to the server fails with. A connection that closed under it is told by
 * how it ended (`ended`, which takes at most the stdio connector's exit grace to learn); a timeout
 * after a wait in the queue says how much of the time was queue.
 */
export async function requestError(
  server: Server,
  error: unknown,
  subject: Subject,
  context: {
    readonly signal: AbortSignal | undefined;
    readonly queuedMs: number;
    readonly ended: () => Promise<GatewayError>;
  }
): Promise<unknown> {
  const { signal, queuedMs } = context;
  if (
    !signal?.aborted &&
    error instanceof SdkError &&
    (error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.NotConnected)
  ) {
    return context.ended();
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout && queuedMs >= 50) {
    return new GatewayError(
      'call_timeout',
      `${subject.kind} ${subject.name} on server ${server.id} did not finish within ${server.callTimeoutMs / 1000}s (callTimeout), ${(queuedMs / 1000).toFixed(1)}s of which it waited for a free slot; it was cancelled`,
      { cause: error, serverId: server.id }
    );
  }
  return callError(server, error, subject, signal);
}

/** The error for the requests in flight when the connection ended with `end`. */
export function endError(
  serverId: string,
  end: LinkEnd,
  failed: FailedPeriod | undefined,
  cause?: unknown
): GatewayError {
  const next = failed
    ? `; it ${failed.because}, so it is marked failed until ${new Date(failed.until).toISOString()}`
    : '; the next call starts it again';
  return new GatewayError('server_exited', `server ${serverId} exited (${end.reason})${next}`, {
    ...(cause === undefined ? {} : { cause }),
    serverId
  });
}

/** A request that waited its whole `callTimeout` for a slot and was never sent. */
export function queueTimeoutError(server: Server, subject: Subject, cause: unknown): GatewayError {
  const { id, callTimeoutMs, maxConcurrency } = server;
  return new GatewayError(
    'call_timeout',
    `${subject.kind} ${subject.name} on server ${id} waited ${callTimeoutMs / 1000}s (its callTimeout) for a free slot behind ${maxConcurrency} calls in flight and was never sent to the server; raise maxConcurrency or callTimeout, or make fewer calls at once`,
    { cause, serverId: id }
  );
}

/** Every request to a server of a gateway that is shutting down. */
export function shuttingDownError(serverId: string): GatewayError {
  return new GatewayError('server_unavailable', 'the gateway is shutting down', { serverId });
}
