import type { DockerSpec, ProcessSpec, RemoteSpec, ServerSpec } from '../config/server-spec.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/client';
import type { Connector, Link } from './connector.js';
import { RemoteConnector } from './remote-connector.js';
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
  /** The OAuth provider of a remote server with `auth: oauth` and shared credentials. */
  readonly oauthProvider: (serverId: string) => OAuthClientProvider;
}

/** The connector for `spec`, chosen by its kind: the one place a server's kind picks its transport. */
export function connectorFor(spec: ServerSpec, parts: ConnectorParts): Connector {
  switch (spec.kind) {
    case 'docker':
      return new StdioConnector({ spec, runtime: parts.docker, log: parts.log });
    case 'process':
      return new StdioConnector({ spec, runtime: parts.process, log: parts.log });
    case 'remote':
      // One connection per principal is what per-user credentials need; a shared one must never
      // carry one principal's token for another's call, so such a server does not open at all.
      if (spec.remote.oauth?.credentials === 'per-user') return new PerUserUnsupported(spec);
      return new RemoteConnector({
        serverId: spec.id,
        target: spec.remote,
        timeoutMs: parts.startTimeoutMs,
        log: parts.log,
        ...(spec.remote.oauth ? { authProvider: parts.oauthProvider(spec.id) } : {})
      });
  }
}

/**
 * Stands in for a remote server with `credentials: per-user` until this build serves them: every
 * open fails, naming the server and the setting, so it is listed as failing while the others serve.
 */
class PerUserUnsupported implements Connector {
  constructor(private readonly spec: RemoteSpec) {}

  open(): Promise<Link> {
    return Promise.reject(
      new GatewayError(
        'start_failed',
        `server ${this.spec.id}: credentials: per-user is not supported by this build yet; use credentials: shared (one login for the gateway) in servers.yaml`,
        { serverId: this.spec.id }
      )
    );
  }
}
