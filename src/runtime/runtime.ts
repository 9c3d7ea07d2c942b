import type { Readable, Writable } from 'node:stream';
import type { StdioSpec } from '../config/server-spec.js';

/** How a server process or container ended. */
export interface ExitInfo {
  /** A short human description: `exit code 1`, `signal SIGKILL`, `container removed`. */
  readonly reason: string;
  /** True when the gateway asked for the stop; false for a crash. */
  readonly requested: boolean;
  /**
   * True when the runtime lost its engine (a Docker engine killed or unreachable) rather than the
   * server ending: not the server's fault, so not a crash that counts toward marking it failed.
   */
  readonly engineLost?: boolean;
}

/**
 * A running MCP server reached over stdio. The upstream owns it: it writes to `stdin`, reads
 * `stdout`, and calls `stop()` exactly when it is done with it.
 */
export interface ServerProcess {
  /** Bytes to the server. */
  readonly stdin: Writable;
  /** Bytes from the server: newline-delimited JSON-RPC, possibly with noise. */
  readonly stdout: Readable;
  /** Names the process for logs: a pid or a container id. */
  readonly label: string;
  /** Resolves once, when the process or container has ended. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /**
   * Ends the process (gracefully, then by force after a bound) and frees everything it held. Resolves
   * once it is gone. Idempotent; safe after a crash.
   */
  stop(): Promise<void>;
}

/** Called for each line the server writes to stderr. */
export type StderrSink = (line: string) => void;

/** A way to run servers that speak stdio. One per kind; each server spec names the kind it needs. */
export interface Runtime<S extends StdioSpec = StdioSpec> {
  readonly kind: S['kind'];
  /**
   * Starts the server described by `spec` and resolves once its stdio is connected. Rejects with a
   * `GatewayError` (`start_failed`, `engine_unreachable`, `image_unavailable`) when it cannot.
   * `signal` aborts a start that is no longer wanted (the gateway is shutting down).
   */
  start(spec: S, stderr: StderrSink, signal: AbortSignal): Promise<ServerProcess>;
  /**
   * Extra input to the catalog fingerprint that the config alone does not show (a Docker image id),
   * or undefined when there is none or it cannot be known now.
   */
  identify?(spec: S): Promise<string | undefined>;
}
