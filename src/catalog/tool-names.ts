import { createHash } from 'node:crypto';

/**
 * The catalog's naming scheme, as pure functions. A tool is exposed as `<namespace>__<tool>` (or
 * plain `<tool>` when the namespace is empty). Clients accept only `[A-Za-z0-9_-]` and at most 64
 * characters, so a name that breaks either rule is rewritten: other characters become `_`, the
 * result is cut to leave room, and a short hash of the whole original name is appended. The hash
 * keeps rewritten names stable across restarts and distinct from each other.
 */

export const MAX_TOOL_NAME_LENGTH = 64;
export const SEPARATOR = '__';
const HASH_LENGTH = 8;
const VALID_NAME = /^[A-Za-z0-9_-]+$/;

/** The part of a name that identifies where it came from. */
export interface ToolOrigin {
  readonly namespace: string;
  readonly tool: string;
}

export function isValidToolName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_TOOL_NAME_LENGTH && VALID_NAME.test(name);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
}

/** Joins origin parts the way the exposed name is built before any rewriting. */
export function joinName({ namespace, tool }: ToolOrigin): string {
  return namespace === '' ? tool : `${namespace}${SEPARATOR}${tool}`;
}

/**
 * The exposed name of a tool. Exact (`namespace__tool`) when that is already valid; otherwise
 * rewritten with a hash of `salt` appended (the full original name by default; collision handling
 * passes a longer salt to get a different, still deterministic, name).
 */
export function encodeToolName(origin: ToolOrigin, salt?: string): string {
  const joined = joinName(origin);
  if (salt === undefined && isValidToolName(joined)) return joined;
  const sanitized = joined.replace(/[^A-Za-z0-9_-]/g, '_');
  const suffix = `_${shortHash(salt ?? joined)}`;
  return sanitized.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length) + suffix;
}

/**
 * `name` made to fit in `max` characters (a profile's `maxToolNameLength`): unchanged when it fits,
 * else cut and ended with `_` and a hash of `salt` (the whole name by default), like
 * {@link encodeToolName}. Two names that differ keep different results (up to the hash); a caller
 * that finds a clash anyway passes a longer salt. `max` must leave room for the hash (at least 16).
 */
export function shortenToolName(name: string, max: number, salt?: string): string {
  if (salt === undefined && name.length <= max) return name;
  const suffix = `_${shortHash(salt ?? name)}`;
  return name.slice(0, max - suffix.length) + suffix;
}

/**
 * Splits an exposed name at its first `__` into the namespace and the rest. Namespaces cannot
 * contain `_`, so the first separator is always the namespace's, and `__` inside a tool's own name
 * survives. Returns undefined for a name with no separator (a tool of an unprefixed server).
 * The rest is the tool's own name when the name was not rewritten.
 */
export function splitToolName(name: string): ToolOrigin | undefined {
  const index = name.indexOf(SEPARATOR);
  if (index <= 0) return undefined;
  return { namespace: name.slice(0, index), tool: name.slice(index + SEPARATOR.length) };
}
