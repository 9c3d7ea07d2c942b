/**
 * SEP-2243 `Mcp-Param-*` headers on 2026-07-28 `tools/call` requests, checked against the tool's
 * `x-mcp-header` parameters. The SDK checks them only for an `McpServer`; the gateway serves with a
 * plain `Server`, so it does the same here against the catalog's schema (the SDK's
 * `scanXMcpHeaderDeclarations` and `validateMcpParamHeaders`, which it does not export). A stdio
 * server never sees the HTTP headers, so only the gateway can.
 */

/** The `-32020` (HeaderMismatch) error a disagreement is answered with, on HTTP 400. */
export const HEADER_MISMATCH = -32020;

/** A parameter the tool mirrors into a header: its path under `arguments`, the header's name, its type. */
interface Declaration {
  readonly path: readonly string[];
  readonly header: string;
  readonly type: string | undefined;
}

/** RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PERMITTED_TYPES = new Set(['string', 'integer', 'boolean']);
/** Keywords under which an `x-mcp-header` is not statically reachable, which invalidates the tool. */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions'
];
const NAME_VALUED = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);

/**
 * The `x-mcp-header` declarations of a tool's `inputSchema`, or undefined when the schema declares
 * them invalidly (conforming clients then leave the tool out, and nothing is checked). A `number`
 * declaration makes the tool invalid too, but its headers are still checked, as the SDK does.
 */
export function headerDeclarations(inputSchema: unknown): readonly Declaration[] | undefined {
  const found: Declaration[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[], reachable: boolean): boolean => {
    if (node === null || typeof node !== 'object') return true;
    const schema = node as Record<string, unknown>;
    if ('x-mcp-header' in schema) {
      const header = schema['x-mcp-header'];
      const type = typeof schema.type === 'string' ? schema.type : undefined;
      if (!reachable || path.length === 0 || typeof header !== 'string' || !TOKEN.test(header)) return false;
      if (type !== 'number' && (type === undefined || !PERMITTED_TYPES.has(type))) return false;
      if (seen.has(header.toLowerCase())) return false;
      seen.add(header.toLowerCase());
      found.push({ path, header, type });
    }
    const properties = schema.properties;
    if (properties !== null && typeof properties === 'object') {
      for (const [key, child] of Object.entries(properties))
        if (!visit(child, [...path, key], reachable)) return false;
    }
    for (const keyword of UNREACHABLE) {
      const sub = schema[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : NAME_VALUED.has(keyword) && sub !== null && typeof sub === 'object'
          ? Object.values(sub)
          : [sub];
      for (const branch of branches) if (!visit(branch, [...path, `<${keyword}>`], false)) return false;
    }
    return true;
  };
  if (!visit(inputSchema, [], true)) return undefined;
  return found;
}

/** A primitive argument as its header text (undefined: no header is expected for it). */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!Number.isInteger(value) || Number.isSafeInteger(value))
  )
    return String(value);
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A header value, decoded from its `=?base64?…?=` form (undefined: not canonical Base64 or UTF-8). */
function decoded(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  const payload = value.slice(9, -2);
  if (!BASE64.test(payload)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * Why the `Mcp-Param-*` headers of a `tools/call` disagree with its `arguments`, or undefined when
 * they agree: each declared parameter the body carries (not null) must come with its header,
 * equal once decoded (numerically for numbers). `header` reads one request header, case-insensitively.
 */
export function paramHeaderMismatch(
  declarations: readonly Declaration[],
  args: unknown,
  header: (name: string) => string | undefined
): { header: string; message: string } | undefined {
  for (const declaration of declarations) {
    const name = `Mcp-Param-${declaration.header}`;
    let value: unknown = args;
    for (const key of declaration.path)
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    const text = value === null || value === undefined ? undefined : asText(value);
    if (text === undefined) continue;
    const where = `${declaration.path.join('.')}=${JSON.stringify(value)}`;
    const sent = header(name);
    if (sent === undefined)
      return { header: name, message: `the body carries ${where} but the ${name} header is absent` };
    const got = decoded(sent.trim());
    if (got === undefined)
      return { header: name, message: `the ${name} header carries an invalid Base64 sentinel value` };
    const numeric =
      (declaration.type === 'integer' || declaration.type === 'number') && typeof value === 'number';
    const equal = numeric && DECIMAL.test(got) ? Number(got) === value : got === text;
    if (!equal)
      return {
        header: name,
        message: `the ${name} header decodes to ${JSON.stringify(got)} but the body carries ${where}`
      };
  }
  return undefined;
}
