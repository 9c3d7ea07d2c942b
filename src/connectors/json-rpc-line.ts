import type { JSONRPCMessage } from '@modelcontextprotocol/client';
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
