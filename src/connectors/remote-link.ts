import {
  SseError,
  SSEClientTransport,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type StreamableHTTPClientTransport,
  type Transport,
  type TransportSendOptions
} from '@modelcontextprotocol/client';
import type { Logger } from '../log.js';
import { UndeliveredError, type Link, type LinkEnd } from './connector.js';
import type { RemoteFetch } from './remote-fetch.js';

/** The SDK transport under a link, started by the connector (an SSE stream is open, its endpoint known). */
export type RemoteTransport = StreamableHTTPClientTransport | SSEClientTransport;

/** How long a close waits for the server to end a Streamable HTTP session (DELETE) before going anyway. */
const TERMINATE_MS = 2_000;

/**
 * One open connection to a remote server: an SDK client transport, already started, behind a
 * transport of the link's own that the upstream's `Client` connects over.
 *
 * The link ends (once) when the gateway closes its transport or the link, requested; or when
 * `http` sees the connection go (a failed request, a broken stream, a 404 for the session), or an
 * HTTP+SSE stream ends, or the SDK closes the transport on its own: lost. A lost link closes its
 * transport, so the `Client` fails what waits on it and nothing reconnects under a dead session;
 * a send after the end rejects with {@link UndeliveredError}.
 */
export class RemoteLink implements Link {
  readonly transport: Transport;
  readonly ended: Promise<LinkEnd>;
  private end: LinkEnd | undefined;
  private resolveEnded!: (end: LinkEnd) => void;
  private closingTransport: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly inner: RemoteTransport,
    private readonly http: RemoteFetch,
    readonly label: string,
    private readonly log: Logger
  ) {
    this.ended = new Promise(resolve => (this.resolveEnded = resolve));
    this.transport = new LinkTransport(inner, this);
    http.onlost = reason => this.lose(reason);
  }

  /** The reason the link ended, while it has. */
  get endReason(): string | undefined {
    return this.end?.reason;
  }

  close(): Promise<void> {
    this.closing ??= this.closeTransport().finally(() => this.http.close());
    return this.closing;
  }

  /** The transport's close: asks a Streamable HTTP server to end the session, then lets go. */
  closeTransport(): Promise<void> {
    this.closingTransport ??= (async () => {
      const wasOpen = this.end === undefined;
      this.settle({ reason: 'closed by the gateway', requested: true });
      if (wasOpen && !(this.inner instanceof SSEClientTransport)) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.inner.terminateSession().catch(() => undefined),
          new Promise(resolve => (timer = setTimeout(resolve, TERMINATE_MS)))
        ]).finally(() => clearTimeout(timer));
      }
      await this.inner.close().catch(() => undefined);
    })();
    return this.closingTransport;
  }

  /** An error the SDK transport reported: on HTTP+SSE, any after the start means the stream is gone. */
  sawError(error: Error): void {
    if (this.inner instanceof SSEClientTransport && error instanceof SseError) {
      this.lose(`the SSE stream ended${error.code === undefined ? '' : ` (HTTP ${error.code})`}`);
    }
  }

  /** The SDK transport closed: lost, unless the gateway closed it. */
  innerClosed(): void {
    this.settle({ reason: 'the connection closed', requested: false, lost: true });
  }

  /**
   * The connection is gone. Its transport is closed a turn later, so a send failing with
   * {@link UndeliveredError} reaches its request before the close fails the request otherwise.
   */
  private lose(reason: string): void {
    if (this.end !== undefined) return;
    this.log.warn({ url: this.label, reason }, 'connection to the remote server lost');
    this.settle({ reason, requested: false, lost: true });
    setImmediate(() => void this.closeTransportLost());
  }

  private closeTransportLost(): Promise<void> {
    this.closingTransport ??= this.inner.close().catch(() => undefined);
    return this.closingTransport;
  }

  private settle(end: LinkEnd): void {
    if (this.end !== undefined) return;
    this.end = end;
    this.resolveEnded(end);
  }
}

/** The transport the upstream's `Client` sees: the SDK transport's, with the link's end rules. */
class LinkTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(
    private readonly inner: RemoteTransport,
    private readonly link: RemoteLink
  ) {
    inner.onmessage = (message: JSONRPCMessage) => this.onmessage?.(message);
    inner.onerror = error => {
      link.sawError(error);
      this.onerror?.(error);
    };
    inner.onclose = () => {
      link.innerClosed();
      this.onclose?.();
    };
  }

  /** True on Streamable HTTP: a request's own stream carries its answer, and aborting it cancels. */
  get hasPerRequestStream(): boolean | undefined {
    return (this.inner as Transport).hasPerRequestStream;
  }

  get sessionId(): string | undefined {
    return (this.inner as Transport).sessionId;
  }

  /** The connector started the SDK transport; this only refuses a link that has already ended. */
  start(): Promise<void> {
    const reason = this.link.endReason;
    if (reason === undefined) return Promise.resolve();
    return Promise.reject(new Error(`the connection to ${this.link.label} has ended: ${reason}`));
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const reason = this.link.endReason;
    if (reason !== undefined) {
      throw new UndeliveredError(`the connection to ${this.link.label} has ended: ${reason}`);
    }
    if (this.inner instanceof SSEClientTransport) await this.inner.send(message);
    else await this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.link.closeTransport();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion(version);
  }
}
