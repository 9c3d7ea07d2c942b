import { errors } from 'oidc-provider';

/** The hosts RFC 8252 §7.3 calls loopback, as URL hostnames (oidc-provider's set). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const isLoopbackHttp = (url: URL) => url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);

/**
 * The redirect URI rules of the MCP authorization spec, applied to a client's metadata (a
 * registration, a Client ID Metadata Document, a stored client) before oidc-provider checks it:
 *
 * - http only on a loopback host; anywhere else an authorization code would cross the network in
 *   the clear, so such a URI is refused (`invalid_redirect_uri`, naming it);
 * - a client whose redirect URIs are loopback http or an app's own scheme (`cursor://…`) is a
 *   native app (RFC 8252), whatever `application_type` it sent or left out: oidc-provider then
 *   lets it come back on any loopback port (§7.3: the port is chosen when the app listens), and
 *   accepts its scheme. Older MCP clients register such URIs without `application_type`, and were
 *   refused a port other than the registered one (or their scheme) as a `web` client.
 *
 * Everything else is matched exactly, as oidc-provider does.
 */
export function applyRedirectUriRules(metadata: Record<string, unknown>): void {
  const uris = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris : [];
  const parsed = uris.map(uri => (typeof uri === 'string' ? URL.parse(uri) : null));
  for (const [index, url] of parsed.entries()) {
    if (url?.protocol === 'http:' && !isLoopbackHttp(url)) {
      throw new errors.InvalidClientMetadata(
        `redirect_uris must use https, or http on a loopback host (localhost, 127.0.0.1, [::1]): ${String(uris[index])} is neither`
      );
    }
  }
  const native = parsed.some(url => url !== null && (isLoopbackHttp(url) || !/^https?:$/.test(url.protocol)));
  // A claimed https URI on a loopback host is one a native client may not have: leave such a set
  // as it was sent, for oidc-provider to judge.
  const httpsLoopback = parsed.some(url => url?.protocol === 'https:' && LOOPBACK_HOSTS.has(url.hostname));
  if (native && !httpsLoopback) metadata.application_type = 'native';
}
