/**
 * A reference in a config value: `${NAME}`, NAME's value in the gateway's environment, or
 * `${NAME:-default}`, the default when NAME is unset or empty (as in a shell, and as Claude Code's
 * `.mcp.json` writes it). The default runs to the first `}`: references do not nest.
 */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `value` with each reference replaced by `lookup(name)`, or by its default; a name with neither a
 * value nor a default is told to `missing` and replaced by "".
 */
export function expandReferences(
  value: string,
  lookup: (name: string) => string | undefined,
  missing: (name: string) => void
): string {
  return value.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const found = lookup(name);
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found === undefined) missing(name);
    return found ?? '';
  });
}

/**
 * `value` as a URL with each reference standing as `1` (which fits a host, a port and a path
 * alike), to check its form before the references are resolved; undefined when it does not parse.
 */
export function placeholderUrl(value: string): URL | undefined {
  try {
    return new URL(value.replace(REFERENCE, '1'));
  } catch {
    return undefined;
  }
}

/** What of `value` is written out in the file: the text around its references, and their defaults. */
export function writtenOut(value: string): string {
  return value.replace(REFERENCE, (_match, _name: string, fallback: string | undefined) => fallback ?? '');
}
