import {
  SdkError,
  SdkErrorCode,
  SseError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientProvider
} from '@modelcontextprotocol/client';
import type { RemoteTarget } from '../config/server-spec.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Connector, Link } from './connector.js';
import { RemoteFailures, describeUrl } from './remote-failures.js';
import { RemoteFetch } from './remote-fetch.js';
import { RemoteLink, type RemoteTransport } from './remote-link.js';
import { probeStreamableHttp } from './streamable-http-probe.js';

export interface RemoteConnectorOptions {
  /** The server's id, for errors and logs. */
  readonly serverId: string;
  /** Where the server is and how to speak to it (`url:` in servers.yaml). */
  readonly target: RemoteTarget;
  /** Bound on `open()`: reaching the server and learning which transport it speaks (the server's startTimeout; errors name it so). */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Logs the gateway in to the server (`auth: oauth`); without one, only `target.headers` are sent. */
  readonly authProvider?: OAuthClientProvider;
}

/**
 * Opens connections to a remote MCP server over the SDK's HTTP client transports: Streamable HTTP,
 * HTTP+SSE, or (`auto`) whichever the server speaks.
 *
 * `open()` makes sure of the server before it hands over a link: the upstream runs `Client.connect`
 * on the link's transport itself, so a transport chosen wrongly could only fail there, as a failed
 * handshake rather than as what went wrong. So the connector asks first: a POST of a `ping` tells a
 * Streamable HTTP server (any JSON-RPC answer) from a server that speaks only HTTP+SSE (a 404 or
 * 405), which `auto` then reaches with a GET for its event stream, as the MCP specification's
 * backwards-compatibility section advises; HTTP+SSE is started in `open()` (its stream and its
 * endpoint are the connection). Every failure on the way is a `GatewayError` naming the server and
 * its URL, within `timeoutMs`.
 */
export class RemoteConnector implements Connector {
  private readonly label: string;
  private readonly failures: RemoteFailures;
  private readonly log: Logger;

  constructor(private readonly options: RemoteConnectorOptions) {
    this.label = describeUrl(options.target.url);
    this.log = options.log.child({ server: options.serverId });
    this.failures = new RemoteFailures(
      options.serverId,
      options.target,
      options.timeoutMs,
      options.authProvider !== undefined
    );
  }

  async open(signal: AbortSignal): Promise<Link> {
    if (signal.aborted) throw this.shuttingDown();
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]);
    const http = new RemoteFetch(this.options.target.ca);
    try {
      const transport = await this.connect(http, deadline);
      this.log.debug(
        { url: this.label, transport: transport instanceof SSEClientTransport ? 'sse' : 'streamable-http' },
        'connected to the remote server'
      );
      return new RemoteLink(transport, http, this.label, this.log);
    } catch (error) {
      await http.close();
      throw signal.aborted ? this.shuttingDown() : error;
    }
  }

  private async connect(http: RemoteFetch, deadline: AbortSignal): Promise<RemoteTransport> {
    const { target, authProvider } = this.options;
    if (target.transport === 'sse') return this.startSse(http, deadline, undefined);
    const answer = await probeStreamableHttp(
      http.plain,
      target.url,
      await this.probeHeaders(),
      deadline,
      this.failures,
      authProvider !== undefined
    );
    if (answer.kind === 'mcp') {
      const transport = new StreamableHTTPClientTransport(target.url, {
        requestInit: { headers: { ...target.headers } },
        fetch: http.fetch,
        ...(authProvider ? { authProvider } : {})
      });
      await transport.start();
      return transport;
    }
    if (target.transport === 'streamable-http') throw this.failures.invalid(answer.answer);
    return this.startSse(http, deadline, answer.answer);
  }

  /**
   * Opens the server's HTTP+SSE stream and waits for its endpoint. `probed` is what the Streamable
   * HTTP probe got, when `auto` falls back here: an error then tells both answers.
   */
  private async startSse(
    http: RemoteFetch,
    deadline: AbortSignal,
    probed: string | undefined
  ): Promise<SSEClientTransport> {
    const { target, authProvider } = this.options;
    // The provider's own error (login_required) would reach the EventSource only as a failed fetch.
    await authProvider?.tokens();
    http.mode = 'sse';
    const transport = new SSEClientTransport(target.url, {
      requestInit: { headers: { ...target.headers } },
      fetch: http.fetch,
      ...(authProvider ? { authProvider } : {})
    });
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new Error('deadline'));
      if (deadline.aborted) onAbort();
      else deadline.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([transport.start(), aborted]);
      return transport;
    } catch (error) {
      // The EventSource retries on its own until closed.
      await transport.close().catch(() => undefined);
      throw this.sseFailure(error, http, deadline.aborted, probed);
    }
  }

  private sseFailure(
    error: unknown,
    http: RemoteFetch,
    timedOut: boolean,
    probed: string | undefined
  ): GatewayError {
    // The auth provider's own (login_required: its message says to run mcp-gateway login).
    if (error instanceof GatewayError) return error;
    const answer = http.lastAnswer;
    if (timedOut) {
      return this.failures.silent(
        answer ? `opened an SSE stream (HTTP ${answer.status}) but sent no endpoint event` : 'did not answer'
      );
    }
    if (
      error instanceof UnauthorizedError ||
      (error instanceof SdkError && error.code === SdkErrorCode.ClientHttpAuthentication)
    ) {
      return this.failures.status(401, '', '') ?? this.failures.invalid('HTTP 401');
    }
    if (!(error instanceof SseError) || answer === undefined) {
      return this.failures.network(http.lastFailure ?? error, false);
    }
    const refused = this.failures.status(answer.status, answer.statusText, '');
    if (refused) return refused;
    const got =
      answer.status === 200
        ? `a GET for an HTTP+SSE stream got ${answer.contentType || 'no content type'}, not text/event-stream`
        : `a GET for an HTTP+SSE stream got HTTP ${answer.status}`;
    return this.failures.invalid(probed === undefined ? got : `${probed}, and ${got}`);
  }

  /** `target.headers`, and the bearer token the auth provider holds, if any. */
  private async probeHeaders(): Promise<Headers> {
    const headers = new Headers(this.options.target.headers);
    const tokens = await this.options.authProvider?.tokens();
    if (tokens?.access_token) headers.set('authorization', `Bearer ${tokens.access_token}`);
    return headers;
  }

  private shuttingDown(): GatewayError {
    return new GatewayError('server_unavailable', 'the gateway is shutting down', {
      serverId: this.options.serverId
    });
  }
}
