import type { RemoteTarget } from '../config/server-spec.js';
import { GatewayError } from '../errors.js';
import { describeNetworkError, networkCode } from './remote-fetch.js';

/** TLS verification failures, by the code Node gives them. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID'
]);

/** A URL for messages and logs: origin and path; a query's values may be secrets, so `?…` only. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
}

/**
 * The errors an open of one remote server fails with, each naming the server and its URL, saying
 * what failed and what to do: `remote_unreachable` (no usable connection or answer),
 * `remote_refused` (401, 403), `remote_invalid` (an answer that is not MCP).
 */
export class RemoteFailures {
  private readonly where: string;

  constructor(
    private readonly serverId: string,
    private readonly target: RemoteTarget,
    private readonly timeoutMs: number,
    /** True when the gateway logs in to the server with OAuth (an auth provider is given). */
    private readonly oauth: boolean
  ) {
    this.where = `server ${serverId} (${describeUrl(target.url)})`;
  }

  /** A request that failed before any answer: refused, DNS, TLS, reset, or past the deadline. */
  network(error: unknown, timedOut: boolean): GatewayError {
    if (timedOut) return this.silent('did not answer');
    const code = networkCode(error);
    const cause = { cause: error, serverId: this.serverId };
    if (code !== undefined && TLS_CODES.has(code)) {
      return new GatewayError(
        'remote_unreachable',
        `${this.where}: TLS verification failed (${describeNetworkError(error)}); if its certificate is signed by a CA of your own, give that CA's PEM file as ca: on the server in servers.yaml (or in NODE_EXTRA_CA_CERTS for every server)`,
        cause
      );
    }
    const why =
      code === 'ECONNREFUSED'
        ? `connection refused; check that the server runs at that address and port`
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `the host name ${this.target.url.hostname} does not resolve (DNS); check url: in servers.yaml`
          : `${describeNetworkError(error)}; check url: in servers.yaml and that the server is up`;
    return new GatewayError('remote_unreachable', `${this.where} is unreachable: ${why}`, cause);
  }

  /** The deadline passed: `what` is how far it got (`did not answer`, `answered HTTP 200 and then sent nothing`). */
  silent(what: string): GatewayError {
    return new GatewayError(
      'remote_unreachable',
      `${this.where} ${what} within ${this.timeoutMs / 1000}s (startTimeout); check that url: is the server's MCP endpoint and that the server is up, or raise startTimeout`,
      { serverId: this.serverId }
    );
  }

  /** An HTTP status that ends the open whatever the transport (401, 403, 5xx); undefined for others. */
  status(status: number, statusText: string, body: string): GatewayError | undefined {
    if (status === 401) {
      const hasToken = Object.keys(this.target.headers).some(name => name.toLowerCase() === 'authorization');
      const what = this.oauth
        ? `needs a login (HTTP 401): run mcp-gateway login ${this.serverId}`
        : hasToken
          ? `refused the token in its headers (HTTP 401): check the Authorization header of the server in servers.yaml and the variable it reads`
          : `needs authorization (HTTP 401): this server needs OAuth: set auth: oauth on it in servers.yaml and run mcp-gateway login ${this.serverId} (or give a token in its headers)`;
      return new GatewayError('remote_refused', `${this.where} ${what}`, { serverId: this.serverId });
    }
    if (status === 403) {
      return new GatewayError(
        'remote_refused',
        `${this.where} refused access (HTTP 403${snippet(body)}): check the credentials the gateway sends it (its headers${this.oauth ? ', or the account used for mcp-gateway login' : ''})`,
        { serverId: this.serverId }
      );
    }
    if (status >= 500) {
      return new GatewayError(
        'remote_unreachable',
        `${this.where} failed: it answered HTTP ${status} ${statusText}${snippet(body)}; the remote server has a problem, try again later or ask its operator`,
        { serverId: this.serverId }
      );
    }
    return undefined;
  }

  /** An answer that is not MCP: `what` says what came back. */
  invalid(what: string): GatewayError {
    return new GatewayError(
      'remote_invalid',
      `${this.where} does not speak MCP there: ${what}; check that url: is the server's MCP endpoint (often ending in /mcp, or /sse for HTTP+SSE) and that transport: (or type:) names the transport it speaks`,
      { serverId: this.serverId }
    );
  }
}

/** `: <the first 200 characters of body>`, or nothing for an empty body. */
function snippet(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (text === '') return '';
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
