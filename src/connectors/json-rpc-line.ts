import type { JSONRPCErrorResponse, JSONRPCMessage } from '@modelcontextprotocol/client';
import { isObject } from './is-object.js';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);

/**
 * Parses one line of MCP's stdio framing into a JSON-RPC message, or returns `undefined` when the
 * line is not one (not JSON, or not a JSON-RPC 2.0 request, notification, result or error).
 *
 * It checks the envelope exactly as the SDK's `JSONRPCMessageSchema` does (the same four shapes,
 * strict keys, safe-integer or string ids, safe-integer error codes; other keys of an error body pass), by hand: the SDK's parser is a zod union
 * that builds error messages for every shape a message is not, which made it one of the costliest
 * steps of a relayed call. What is inside `params` and `result` is not checked here; the SDK's
 * protocol layer validates it against the method's schema, as it does for any transport.
 */
export function parseJsonRpcLine(line: string): JSONRPCMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isJsonRpcMessage(value) ? value : undefined;
}

export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (!isObject(value) || value.jsonrpc !== '2.0') return false;
  if ('method' in value) {
    if (typeof value.method !== 'string') return false;
    if (value.params !== undefined && !isObject(value.params)) return false;
    if ('id' in value) return isRequestId(value.id) && onlyKeys(value, REQUEST_KEYS);
    return onlyKeys(value, NOTIFICATION_KEYS);
  }
  if ('result' in value)
    return isRequestId(value.id) && isObject(value.result) && onlyKeys(value, RESULT_KEYS);
  if ('error' in value) {
    const { error } = value;
    return (
      (value.id === undefined || isRequestId(value.id)) &&
      isObject(error) &&
      Number.isSafeInteger(error.code) &&
      typeof error.message === 'string' &&
      onlyKeys(value, ERROR_KEYS)
    );
  }
  return false;
}

function isRequestId(value: unknown): boolean {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

/** The error a request gets when the server's answer to it is not a JSON-RPC response. */
export interface BrokenResponse {
  /** The error response that stands in for the server's answer: it fails the request at once. */
  readonly response: JSONRPCErrorResponse;
  /** What is wrong with the answer. */
  readonly reason: string;
}

/**
 * A line that is JSON and answers a request (a `jsonrpc` of 2.0, a request id, a `result` or an
 * `error`, no `method`) but is no valid response: what is wrong with it, and an internal error
 * response (-32603) for the same id that says so, naming `writer` ("server github"). The request
 * it answers then fails at once, instead of waiting out its timeout for an answer that already
 * came. Undefined for any other line (a valid message, or one that answers no request: noise).
 */
export function brokenResponseOf(line: string, writer = 'the server'): BrokenResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.jsonrpc !== '2.0' || 'method' in value || !isRequestId(value.id)) {
    return undefined;
  }
  if (isJsonRpcMessage(value) || !('result' in value || 'error' in value)) return undefined;
  const reason = brokenReason(value);
  return {
    reason,
    response: {
      jsonrpc: '2.0',
      id: value.id as string | number,
      error: {
        code: -32603,
        message: `${writer} answered this request with no valid JSON-RPC response: ${reason}`
      }
    }
  };
}

function brokenReason(value: Record<string, unknown>): string {
  if ('result' in value && 'error' in value) return 'it has both a result and an error';
  if ('result' in value) {
    if (!isObject(value.result)) return `its result must be an object, not ${kindOf(value.result)}`;
    return `it has keys other than jsonrpc, id and result (${extraKeys(value, RESULT_KEYS)})`;
  }
  const { error } = value;
  if (!isObject(error)) return `its error must be an object, not ${kindOf(error)}`;
  if (!Number.isSafeInteger(error.code)) return 'its error code must be an integer';
  if (typeof error.message !== 'string') return 'its error message must be a string';
  return `it has keys other than jsonrpc, id and error (${extraKeys(value, ERROR_KEYS)})`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function extraKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): string {
  return Object.keys(value)
    .filter(key => !allowed.has(key))
    .join(', ');
}
