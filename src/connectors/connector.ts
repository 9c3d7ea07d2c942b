import type { Transport } from '@modelcontextprotocol/client';

/**
 * How a connection to a server ended. For a process: its exit; for a remote server: the HTTP
 * connection or session going away.
 */
export interface LinkEnd {
  /** A short human description: `exit code 1`, `signal SIGKILL`, `remote session expired (404)`. */
  readonly reason: string;
  /** True when the gateway asked for the end (idle, stop, shutdown); false for a crash or a drop. */
  readonly requested: boolean;
  /**
   * True when what carried the server went away rather than the server failing (a Docker engine
   * killed, a remote connection dropped): not counted as a crash toward marking the server failed.
   */
  readonly lost?: boolean;
}

/**
 * One open connection to an MCP server: the transport the upstream's SDK `Client` connects over,
 * and its end. The upstream owns it and calls `close()` exactly when it is done with it.
 */
export interface Link {
  /** Not started yet: `Client.connect(transport)` starts it. */
  readonly transport: Transport;
  /** Names the connection for logs: a pid, a container id, a URL's origin. */
  readonly label: string;
  /** Resolves once, when the connection has ended. Never rejects. */
  readonly ended: Promise<LinkEnd>;
  /**
   * Told of a fault that fails every request waiting on this connection but leaves it open (a
   * stdio line over the size limit); set by the upstream before it connects.
   */
  onfault?: (error: Error) => void;
  /** Ends the connection and frees what it holds; resolves once it is gone. Idempotent. */
  close(): Promise<void>;
}

/** Opens connections to one server. One per server; the server's kind decides which. */
export interface Connector {
  /**
   * Opens a new connection. Rejects with a `GatewayError` (`start_failed`, `engine_unreachable`,
   * `image_unavailable`, `remote_unreachable`, …) naming the server when it cannot. `signal`
   * aborts an open that is no longer wanted (the gateway is shutting down).
   */
  open(signal: AbortSignal): Promise<Link>;
  /**
   * Extra input to the server's catalog fingerprint that its config alone does not show (a Docker
   * image id), or undefined when there is none or it cannot be known now.
   */
  identify?(): Promise<string | undefined>;
  /** The last lines the server wrote to stderr, oldest first (a server run as a process only). */
  stderrTail?(): string[];
  /** A reader of the stderr lines the server writes from now on (kept ones, oldest first). */
  stderrSince?(): () => string[];
}

/**
 * A request that never reached the server (the connection was already gone, or the remote session
 * had expired): safe to send again, once, on a new connection. A link's transport rejects a send
 * with it; anything else that fails a request may have reached the server and is not retried.
 */
export class UndeliveredError extends Error {
  override readonly name = 'UndeliveredError';
}
