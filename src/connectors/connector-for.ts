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
  /**
   * The OAuth provider of a remote server with `auth: oauth`: the gateway's (`principal` left out,
   * shared credentials) or one principal's (`credentials: per-user`).
   */
  readonly oauthProvider: (serverId: string, principal?: string) => OAuthClientProvider;
}

/**
 * The connector for `spec`, chosen by its kind: the one place a server's kind picks its transport.
 * A remote server with `credentials: per-user` has one connector per principal (`principal` set),
 * each opening connections with that principal's tokens only; without a principal it opens nothing.
 */
export function connectorFor(spec: ServerSpec, parts: ConnectorParts, principal?: string): Connector {
  switch (spec.kind) {
    case 'docker':
      return new StdioConnector({ spec, runtime: parts.docker, log: parts.log });
    case 'process':
      return new StdioConnector({ spec, runtime: parts.process, log: parts.log });
    case 'remote': {
      const perUser = spec.remote.oauth?.credentials === 'per-user';
      // A shared connection must never carry one principal's token for another's call.
      if (perUser && principal === undefined) return new NoPrincipal(spec);
      return new RemoteConnector({
        serverId: spec.id,
        target: spec.remote,
        timeoutMs: parts.startTimeoutMs,
        log: parts.log,
        ...(spec.remote.oauth
          ? { authProvider: parts.oauthProvider(spec.id, perUser ? principal : undefined) }
          : {})
      });
    }
  }
}

/**
 * The connector of a per-user server for a request with no principal to log in as (an operator's
 * warm-up, say): every open fails, naming the server and the setting.
 */
class NoPrincipal implements Connector {
  constructor(private readonly spec: RemoteSpec) {}

  open(): Promise<Link> {
    return Promise.reject(
      new GatewayError(
        'login_required',
        `server ${this.spec.id} has credentials: per-user: each principal calls it with its own login, so a request with no principal (an unauthenticated caller, or the gateway itself) cannot; call it as an authenticated client`,
        { serverId: this.spec.id }
      )
    );
  }
}
