import { createRequire } from 'node:module';
import { getCACertificates } from 'node:tls';
import type { FetchLike } from '@modelcontextprotocol/client';
import type { Dispatcher } from 'undici';
import { UndeliveredError } from './connector.js';

/**
 * Errors of a connection that failed before anything was written to it: the request never reached
 * the server, so it may be sent again on a new connection.
 */
const BEFORE_WRITE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT'
]);

/** The `code` of the innermost error in `error`'s cause chain that has one (`ECONNREFUSED`, …). */
export function networkCode(error: unknown): string | undefined {
  let code: string | undefined;
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth++) {
    const own = (at as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}

/** `UND_ERR_SOCKET: other side closed`: the code and innermost message of fetch's error. */
export function describeNetworkError(error: unknown): string {
  let at: unknown = error;
  for (let depth = 0; at instanceof Error && at.cause !== undefined && depth < 5; depth++) at = at.cause;
  const message = at instanceof Error ? at.message : String(at);
  const code = networkCode(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}

/** Whether `error`, thrown by fetch, means the request was never written to a connection. */
export function neverSent(error: unknown): boolean {
  const code = networkCode(error);
  return code !== undefined && BEFORE_WRITE.has(code);
}

/**
 * A connection pool that trusts `ca` (PEM) besides the default CAs, with no header or body timeout,
 * through the environment's proxy when Node's own fetch would use one.
 */
function dispatcherFor(ca: string | undefined): Dispatcher {
  // Loaded here, on a remote server's first link: undici (~4 MB of idle RSS) is not needed before.
  const { Agent, EnvHttpProxyAgent } = createRequire(import.meta.url)('undici') as typeof import('undici');
  // `ca` replaces the default list: keep the defaults (bundled, NODE_EXTRA_CA_CERTS) beside it.
  const tls = ca === undefined ? undefined : { ca: [...getCACertificates('default'), ca] };
  const options = { headersTimeout: 0, bodyTimeout: 0, ...(tls ? { connect: tls } : {}) };
  // Node's own fetch goes through HTTP_PROXY/HTTPS_PROXY (minus NO_PROXY) when NODE_USE_ENV_PROXY
  // is 1; a dispatcher of one's own must do it itself. `requestTls` is TLS to the server through
  // the proxy's tunnel.
  return process.env.NODE_USE_ENV_PROXY === '1'
    ? new EnvHttpProxyAgent({ ...options, ...(tls ? { requestTls: tls } : {}) })
    : new Agent(options);
}

/**
 * A fetch that trusts a remote server's `ca:` (PEM), for requests about the server made outside its
 * links (its OAuth metadata and token requests). Its idle connections close on their own.
 */
export function fetchTrusting(ca: string): FetchLike {
  const dispatcher = dispatcherFor(ca);
  return (url, init) => fetch(url, { ...init, dispatcher } as RequestInit);
}

/**
 * The HTTP client of one link to a remote server: its own connection pool (an undici `Agent`), with
 * the server's `ca:` trusted besides the default CAs, and a watch over what its requests meet.
 *
 * {@link fetch} is what the SDK transports use. It reports through {@link onlost} (once) that the
 * connection is gone when a request cannot be sent, a response stream breaks, or the remote session
 * has expired (404 on a request that carries one); a request that never reached the server
 * rejects with {@link UndeliveredError}. A request aborted by its own signal (a cancelled request,
 * the transport closing) is no loss. Requests to `/.well-known/` paths (OAuth metadata) are not
 * watched: they are not the MCP connection.
 *
 * No header or body timeout: a stream may rightly stay silent for hours; requests are bounded by
 * their callers (the SDK's request timeouts, the connector's open deadline).
 */
export class RemoteFetch {
  /** Told once that the connection is gone, with a short reason. */
  onlost?: (reason: string) => void;
  /**
   * `sse` once the link speaks HTTP+SSE: its POSTs carry the session in the endpoint URL, so a
   * 404 on one means the session is gone.
   */
  mode: 'streamable-http' | 'sse' = 'streamable-http';
  /** The last answer a watched request got, for the connector's errors. */
  lastAnswer: { status: number; statusText: string; contentType: string } | undefined;
  /** The last error a watched request failed with before any answer. */
  lastFailure: unknown;
  private readonly agent: Dispatcher;
  private lost = false;

  constructor(ca: string | undefined) {
    this.agent = dispatcherFor(ca);
  }

  /** Fetch through this link's pool, unwatched (the connector's own probe requests). */
  readonly plain: FetchLike = (url, init) => fetch(url, { ...init, dispatcher: this.agent } as RequestInit);

  /** Fetch through this link's pool, watched for the end of the connection (see the class). */
  readonly fetch: FetchLike = async (url, init) => {
    const watched = !new URL(url).pathname.startsWith('/.well-known/');
    const aborted = () => init?.signal?.aborted === true;
    let response: Response;
    try {
      response = await this.plain(url, init);
    } catch (error) {
      if (!watched || aborted()) throw error;
      this.lastFailure = error;
      this.lose(`the connection failed: ${describeNetworkError(error)}`);
      if (neverSent(error)) {
        throw new UndeliveredError(`the request was not sent: ${networkCode(error)}`, { cause: error });
      }
      throw error;
    }
    if (!watched) return response;
    const type = response.headers.get('content-type') ?? '';
    this.lastAnswer = { status: response.status, statusText: response.statusText, contentType: type };
    if (response.status === 404 && this.carriesSession(init)) {
      await response.body?.cancel().catch(() => undefined);
      this.lose('remote session expired (404)');
      throw new UndeliveredError('the remote session has expired (HTTP 404)');
    }
    if (response.status !== 200 || !type.startsWith('text/event-stream') || !response.body) return response;
    // A stream that breaks (not by its own abort) is the server or the network gone.
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      pull: async controller => {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          if (!aborted()) this.lose(`the connection dropped: ${describeNetworkError(error)}`);
          controller.error(error);
        }
      },
      cancel: reason => reader.cancel(reason)
    });
    return new Response(body, { status: 200, statusText: response.statusText, headers: response.headers });
  };

  /** Closes every connection of the pool at once, streams included. */
  async close(): Promise<void> {
    this.lost = true;
    await this.agent.destroy().catch(() => undefined);
  }

  private carriesSession(init: RequestInit | undefined): boolean {
    if (new Headers(init?.headers).has('mcp-session-id')) return true;
    return this.mode === 'sse' && init?.method === 'POST';
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.onlost?.(reason);
  }
}
