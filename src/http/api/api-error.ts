import { ProtocolError } from '@modelcontextprotocol/server';
import { GatewayError, toProtocolError } from '../../errors.js';
import { statusOfCallError, toHttpError } from '../http-error.js';

/** The body of every `/api` error; the OpenAPI document's `Error` schema is {@link API_ERROR_SCHEMA}. */
export interface ApiErrorBody {
  readonly error: {
    /** What failed, as a stable string to branch on. */
    readonly code: string;
    /** What failed and what to do, for people. */
    readonly message: string;
    /** The server a call or start failure belongs to. */
    readonly server?: string;
    /** For a failed tool call: the JSON-RPC error code an MCP client gets for the same failure. */
    readonly rpcCode?: number;
  };
}

/** `code` of a refusal made before any handler ran, by HTTP status. */
const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited'
};

/** The `Error` schema of the OpenAPI document: the shape {@link apiErrorOf} makes. */
export const API_ERROR_SCHEMA = {
  type: 'object',
  description:
    'Every /api error has this shape. `code` is a call or start failure’s reason (unknown_tool, call_timeout, server_unavailable, …; server_error for an error the server itself returned), or for a refused request one of invalid_request, unauthorized, forbidden, not_found, method_not_allowed, too_large, unsupported_media_type, rate_limited, internal_error; a refused reload’s is config_refused.',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        server: { type: 'string' },
        rpcCode: { type: 'integer' }
      },
      required: ['code', 'message'],
      additionalProperties: false
    }
  },
  required: ['error'],
  additionalProperties: false
} as const;

/**
 * The one place `/api` errors are made: anything thrown while serving an `/api` request (a refused
 * request, a bad parameter, a failed call or start) becomes a status, headers and an
 * {@link ApiErrorBody}. `internal` marks a failure of the gateway itself, worth logging.
 */
export function apiErrorOf(error: unknown): {
  status: number;
  headers: Record<string, string>;
  body: ApiErrorBody;
  internal: boolean;
} {
  if (error instanceof GatewayError || error instanceof ProtocolError) {
    const wire = toProtocolError(error);
    return {
      status: statusOfCallError(error),
      headers: {},
      body: {
        error: {
          code: error instanceof GatewayError ? error.code : 'server_error',
          message: wire.message,
          ...(error instanceof GatewayError && error.serverId !== undefined
            ? { server: error.serverId }
            : {}),
          rpcCode: wire.code
        }
      },
      internal: false
    };
  }
  if (error instanceof URIError) {
    // The router's "Failed to decode param '%ZZ'": say which part and how to write it.
    const part = /'(.*)'/.exec(error.message)?.[1];
    return {
      status: 400,
      headers: {},
      body: {
        error: {
          code: 'invalid_request',
          message: `the path part ${part === undefined ? '' : `"${part}" `}is not valid percent-encoding: write a literal % as %25`
        }
      },
      internal: false
    };
  }
  const http = toHttpError(error);
  return {
    status: http.status,
    headers: http.headers,
    body: { error: { code: CODES[http.status] ?? 'internal_error', message: http.message } },
    internal: http.status >= 500
  };
}
