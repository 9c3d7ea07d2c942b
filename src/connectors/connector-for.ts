import type { DockerSpec, ProcessSpec, RemoteSpec, ServerSpec } from '../config/server-spec.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Connector, Link } from './connector.js';
import { StdioConnector } from './stdio-connector.js';

/** What the connectors of every kind are built from. */
export interface ConnectorParts {
  /** Runs `image:` servers. */
  readonly docker: Runtime<DockerSpec>;
  /** Runs `command:` servers. */
  readonly process: Runtime<ProcessSpec>;
  readonly log: Logger;
  /** Bound on opening a remote connection (`defaults.startTimeout`). */
  readonly startTimeoutMs: number;
}

/** The connector for `spec`, chosen by its kind: the one place a server's kind picks its transport. */
export function connectorFor(spec: ServerSpec, parts: ConnectorParts): Connector {
  switch (spec.kind) {
    case 'docker':
      return new StdioConnector({ spec, runtime: parts.docker, log: parts.log });
    case 'process':
      return new StdioConnector({ spec, runtime: parts.process, log: parts.log });
    case 'remote':
      return new UnsupportedRemoteConnector(spec);
  }
}

/**
 * Stands in for the remote connector until it is part of this build: every open fails, naming the
 * server, so a `url:` server is listed as failing while every other server serves.
 */
class UnsupportedRemoteConnector implements Connector {
  constructor(private readonly spec: RemoteSpec) {}

  open(): Promise<Link> {
    return Promise.reject(
      new GatewayError(
        'start_failed',
        `server ${this.spec.id}: remote servers are not supported by this build yet`,
        { serverId: this.spec.id }
      )
    );
  }
}
