import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

/**
 * What went wrong, as a stable string a caller can branch on. Local failures carry one of these;
 * only {@link toProtocolError} turns them into wire errors.
 */
export type GatewayErrorCode =
  /** The tool name decodes to no known server or tool. */
  | 'unknown_tool'
  /** The prompt name decodes to no known server or prompt. */
  | 'unknown_prompt'
  /** The resource URI decodes to no server (or to a namespace several servers share). */
  | 'unknown_resource'
  /** A completion's `ref` is neither a prompt nor a resource template the gateway can route. */
  | 'unknown_reference'
  /** The call's arguments are not acceptable (not an object). */
  | 'invalid_arguments'
  /** The server cannot run now: a missing `${VAR}`, a failed state, or the gateway shutting down. */
  | 'server_unavailable'
  /** Starting the server failed (spawn error, initialize never answered, exited early). */
  | 'start_failed'
  /** The server's process or container ended while calls were in flight. */
  | 'server_exited'
  /** The call ran past its `callTimeout`. */
  | 'call_timeout'
  /** The client cancelled the call. */
  | 'cancelled'
  /** The caller's token does not cover this tool. */
  | 'forbidden'
  /** The server has `maxConcurrency` calls in flight and `maxQueue` waiting. */
  | 'server_busy'
  /** The container engine cannot be reached. */
  | 'engine_unreachable'
  /** A remote server gave no usable answer: refused, DNS, TLS, a 5xx, or silence past its startTimeout. */
  | 'remote_unreachable'
  /** A remote server refused the gateway's credentials (401, 403). */
  | 'remote_refused'
  /** A remote server's answer is not MCP (an HTML page, a 404 on both transports). */
  | 'remote_invalid'
  /** The server's image could not be pulled. */
  | 'image_unavailable'
  /** The server answered a call with a result that is not a `tools/call` result. */
  | 'invalid_result'
  /** The server wrote a line on stdout longer than the gateway accepts for one message. */
  | 'message_too_large'
  /** A remote server needs OAuth tokens the gateway does not have (never logged in, or refresh refused). */
  | 'login_required'
  /** An OAuth login to a remote server could not start or complete (discovery, registration, callback). */
  | 'login_failed'
  /** The item (or the server's image) differs from what was approved, or is new under `trust: manual`. */
  | 'quarantined'
  /** An approval named something that is not quarantined. */
  | 'not_quarantined';

/** A local failure: a code to branch on, a message for people, and the error that caused it. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: GatewayErrorCode;
  /** The server the failure belongs to, when there is one. */
  readonly serverId: string | undefined;
  /** More for the wire error's `data` (a resource's `uri`, say). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: GatewayErrorCode,
    message: string,
    options: { cause?: unknown; serverId?: string; detail?: Record<string, unknown> } = {}
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.serverId = options.serverId;
    this.detail = options.detail;
  }
}

/** JSON-RPC code for a request that ran past its deadline (the SDK's -32001 convention). */
const REQUEST_TIMEOUT = -32001;

const wireCodes: Record<GatewayErrorCode, number> = {
  unknown_tool: ProtocolErrorCode.InvalidParams,
  unknown_prompt: ProtocolErrorCode.InvalidParams,
  unknown_resource: ProtocolErrorCode.InvalidParams,
  unknown_reference: ProtocolErrorCode.InvalidParams,
  invalid_arguments: ProtocolErrorCode.InvalidParams,
  server_unavailable: ProtocolErrorCode.InternalError,
  start_failed: ProtocolErrorCode.InternalError,
  server_exited: ProtocolErrorCode.InternalError,
  call_timeout: REQUEST_TIMEOUT,
  cancelled: ProtocolErrorCode.InternalError,
  server_busy: ProtocolErrorCode.InternalError,
  forbidden: ProtocolErrorCode.InvalidParams,
  engine_unreachable: ProtocolErrorCode.InternalError,
  remote_unreachable: ProtocolErrorCode.InternalError,
  remote_refused: ProtocolErrorCode.InternalError,
  remote_invalid: ProtocolErrorCode.InternalError,
  image_unavailable: ProtocolErrorCode.InternalError,
  invalid_result: ProtocolErrorCode.InternalError,
  message_too_large: ProtocolErrorCode.InternalError,
  login_required: ProtocolErrorCode.InternalError,
  login_failed: ProtocolErrorCode.InternalError,
  quarantined: ProtocolErrorCode.InvalidParams,
  not_quarantined: ProtocolErrorCode.InvalidParams
};

/**
 * The `MCP error <code>: ` that 2025-era SDK servers put into the message itself (their `McpError`
 * prefixes it in its constructor, and its message is what goes on the wire). A client of that SDK
 * adds it again on its side, so a relayed message would read `MCP error -32602: MCP error -32602: …`.
 */
const BAKED_IN_PREFIX = /^(?:MCP error -?\d+: )+/;

/**
 * The one place local errors become wire errors. A {@link ProtocolError} from an upstream passes
 * through unchanged (its code and data are the upstream's answer), but for a baked-in
 * {@link BAKED_IN_PREFIX}; a {@link GatewayError} keeps its
 * message and carries its code and server in `data`; anything else is an internal error whose
 * message is kept but whose stack is not sent.
 */
export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) {
    if (!BAKED_IN_PREFIX.test(error.message)) return error;
    return new ProtocolError(error.code, error.message.replace(BAKED_IN_PREFIX, ''), error.data);
  }
  if (error instanceof GatewayError) {
    return new ProtocolError(wireCodes[error.code], error.message, {
      ...error.detail,
      reason: error.code,
      ...(error.serverId === undefined ? {} : { server: error.serverId })
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(ProtocolErrorCode.InternalError, `Internal error: ${message}`);
}

/** A one-line description of any thrown value, for logs and error messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
