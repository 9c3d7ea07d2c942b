/**
 * The catalog's rewrite of resource URIs and URI templates, as pure functions. A server's URI is
 * exposed with its namespace and a `+` put in front of what follows the scheme, so the scheme is
 * kept (a `ui://` resource stays `ui://`, as MCP Apps hosts expect) and a read is routed back to
 * its server by decoding alone:
 *
 *   ui://dashboard/main   → ui://<namespace>+dashboard/main
 *   file:///etc/hosts     → file://<namespace>+/etc/hosts
 *   urn:isbn:123          → urn:<namespace>+isbn:123
 *
 * A server with the empty namespace keeps its URIs unchanged, unless what follows the scheme could
 * be read as a namespace and a `+`: then a lone `+` marks the empty namespace (`test://+other+x`);
 * its templates with a variable are always marked (`test://+{id}`, see {@link encodeResourceTemplate}). Only the part after the
 * scheme changes, and never inside a `{...}`, so a template's variables survive and a client's
 * expansion of a rewritten template decodes to the server's own expansion.
 */

/** Namespaces as the config allows them: 1-32 of [A-Za-z0-9-]; the empty one has no prefix. */
const NAMESPACE = /^[A-Za-z0-9-]*$/;
/** `scheme://` or `scheme:` (RFC 3986); a string without one is taken whole as the rest. */
const HEAD = /^[A-Za-z][A-Za-z0-9+.-]*:(?:\/\/)?/;
/** A rest that an empty namespace must mark, lest it decode as another namespace's. */
const NEEDS_MARK = /^[A-Za-z0-9-]*[+{]/;

/** Where a URI came from: the server's namespace and its own URI. */
export interface UriOrigin {
  readonly namespace: string;
  readonly uri: string;
}

function split(uri: string): { head: string; rest: string } {
  const head = HEAD.exec(uri)?.[0] ?? '';
  return { head, rest: uri.slice(head.length) };
}

/**
 * The exposed form of a server's resource URI or URI template, or undefined for the rare string
 * the rewrite cannot carry back (not an absolute URI, like `9:x`, which would read as a scheme
 * once prefixed): such a resource is not exposed.
 */
export function encodeResourceUri({ namespace, uri }: UriOrigin): string | undefined {
  if (!NAMESPACE.test(namespace)) throw new Error(`not a namespace: ${JSON.stringify(namespace)}`);
  const { head, rest } = split(uri);
  if (namespace === '' && !NEEDS_MARK.test(rest)) return uri;
  const exposed = `${head}${namespace}+${rest}`;
  const back = decodeResourceUri(exposed);
  return back.namespace === namespace && back.uri === uri ? exposed : undefined;
}

/**
 * The exposed form of a server's URI template (RFC 6570), or undefined when no expansion of it could
 * be routed back: a template with a variable before its first `:` (`{s}://x`, `http{s}://x`, or no
 * scheme at all) does not keep its scheme, so it is not exposed. For the empty namespace every
 * template with a variable is marked with a lone `+`, since any variable's value (`{+path}` with
 * `/work+x/notes`) could put another namespace's `name+` right after the scheme.
 */
export function encodeResourceTemplate({ namespace, uri }: UriOrigin): string | undefined {
  const brace = uri.indexOf('{');
  if (brace === -1) return encodeResourceUri({ namespace, uri });
  const colon = uri.indexOf(':');
  if (colon === -1 || brace < colon) return undefined;
  if (namespace !== '') return encodeResourceUri({ namespace, uri });
  const { head, rest } = split(uri);
  return head === '' ? undefined : `${head}+${rest}`;
}

/**
 * The namespace and the server's own URI of an exposed URI: the inverse of
 * {@link encodeResourceUri}. A URI with no `<namespace>+` after its scheme belongs to the empty
 * namespace, unchanged.
 */
export function decodeResourceUri(exposed: string): UriOrigin {
  const { head, rest } = split(exposed);
  const plus = rest.indexOf('+');
  const namespace = plus === -1 ? undefined : rest.slice(0, plus);
  if (namespace === undefined || !NAMESPACE.test(namespace)) return { namespace: '', uri: exposed };
  return { namespace, uri: `${head}${rest.slice(plus + 1)}` };
}
