import type { DatabaseSync } from 'node:sqlite';
import express, { type RequestHandler, type Router } from 'express';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { Logger } from '../../log.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { SettingsStore } from '../../store/settings-store.js';
import { PasswordGuesses } from '../password-guesses.js';
import { openCors } from '../auth/open-cors.js';
import { createAccessTokenVerifier } from './access-token-verifier.js';
import { setPasswordCommand } from './consent-page.js';
import { createConsentRouter } from './consent-router.js';
import { createProvider, MCP_SCOPE } from './create-provider.js';
import { observeProvider } from './observe-provider.js';
import { grantViews } from './grants.js';
import { OAuthModelStore } from './oauth-model-store.js';
import { loadOAuthSecrets } from './oauth-secrets.js';
import { parsePublicUrl } from '../../config/public-url.js';

import type { GrantView } from './grants.js';

export type { GrantView };

export interface OAuthServerOptions {
  /** The gateway's public https base URL (`gateway.publicUrl`); the MCP resource is `${publicUrl}/mcp`. */
  readonly publicUrl: string;
  readonly db: DatabaseSync;
  readonly settings: SettingsStore;
  readonly audit: AuditLog;
  readonly log: Logger;
  /** Accept an http `publicUrl` whose host is loopback (tests, trying it out locally). Never any other http URL. */
  readonly allowInsecure?: boolean;
  /** Seconds an access token is valid. Default 600. */
  readonly accessTokenTtl?: number;
  /** Seconds a refresh token is valid; every refresh rotates it and starts a new period. Default 30 days. */
  readonly refreshTokenTtl?: number;
  /** The gateway's state directory: the consent page and the start-up warning name it when no admin password is set. */
  readonly stateDir: string;
  /** The profiles served now: a client may ask for a token bound to one (`resource=${publicUrl}/mcp/<profile>`). */
  readonly profiles?: (() => readonly string[]) | undefined;
  /** Consent forms accepted per minute from one remote address (password guessing). Default 10. */
  readonly consentAttemptsPerMinute?: number;
  /** The bound on wrong admin passwords from all addresses; share the dashboard's. Default: its own. */
  readonly passwordGuesses?: PasswordGuesses;
  /**
   * Fetches Client ID Metadata Documents. Default: oidc-provider's fetch, which refuses private and
   * loopback addresses, redirects, bodies over 5 KiB and answers slower than 2.5 s. For tests.
   */
  readonly fetch?: typeof fetch;
}

/** The gateway as its own OAuth 2.1 authorization server. */
export interface OAuthServer {
  /** Mounted at the root: metadata documents, registration, authorization, consent, token, revocation. */
  readonly router: Router;
  /** Accepts the access tokens this server issued for the MCP resource. */
  readonly verifier: TokenVerifier;
  grants(): Promise<GrantView[]>;
  /** Revokes a grant and every token issued under it. False when there is no such grant. */
  revokeGrant(id: string): Promise<boolean>;
  close(): Promise<void>;
  /** The issuer identifier (the public origin): what protected resource metadata lists in `authorization_servers`. */
  readonly issuer?: string;
  /** The MCP resource (`${publicUrl}/mcp`): the `resource` of protected resource metadata and every token's audience. */
  readonly resource?: string;
  /** The one scope this server issues (`mcp`): what protected resource metadata and 401 challenges name. */
  readonly scope: string;
}

/** Expired and revoked rows and unused registrations are pruned this often. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/** Paths oidc-provider answers; everything else passes on to the gateway's own routes. */
function isProviderPath(path: string): boolean {
  return (
    path.startsWith('/oauth/') ||
    path === '/.well-known/oauth-authorization-server' ||
    path === '/.well-known/openid-configuration'
  );
}

/**
 * Builds the authorization server on oidc-provider and the gateway's state database. The issuer is
 * the public origin, so every client's discovery variant (RFC 8414, OIDC, with or without protected
 * resource metadata) lands on the root well-known URLs; the endpoints live under `/oauth`.
 * Rejects when `publicUrl` is not https (or loopback http with `allowInsecure`), or has a path.
 */
export function createOAuthServer(options: OAuthServerOptions): Promise<OAuthServer> {
  try {
    return Promise.resolve(build(options));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function build(options: OAuthServerOptions): OAuthServer {
  const publicUrl = parsePublicUrl(options.publicUrl, options.allowInsecure ?? false);
  const issuer = publicUrl.origin;
  const resource = `${issuer}/mcp`;
  const store = new OAuthModelStore(options.db);
  store.prune();
  const provider = createProvider({
    issuer,
    resource,
    profiles: options.profiles,
    store,
    secrets: loadOAuthSecrets(options.db),
    accessTokenTtl: options.accessTokenTtl ?? 600,
    refreshTokenTtl: options.refreshTokenTtl ?? 30 * 86_400,
    fetch: options.fetch
  });
  observeProvider(provider, options.audit, options.log);
  if (!options.settings.hasAdminPassword()) {
    options.log.warn(
      { command: setPasswordCommand(options.stateDir) },
      `auth.mode oauth has no admin password: no client can be approved until you run ${setPasswordCommand(options.stateDir)}`
    );
  }

  // The issuer and endpoint URLs oidc-provider writes come from these headers (`provider.proxy`):
  // pin them to the public URL, whatever Host or X-Forwarded-* the proxy or a client sent, and pass
  // on the client address Express resolved under the gateway's own proxy trust.
  const pinPublicOrigin: RequestHandler = (req, _res, next) => {
    if (isProviderPath(req.path)) {
      req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
      req.headers['x-forwarded-host'] = publicUrl.host;
      if (req.ip === undefined) delete req.headers['x-forwarded-for'];
      else req.headers['x-forwarded-for'] = req.ip;
    }
    next();
  };
  const callback = provider.callback();
  const router = express.Router();
  router.use(pinPublicOrigin);
  // Registration is open and needs no credentials, so a client in a browser may register too
  // (oidc-provider answers no CORS there); the token endpoint's CORS is oidc-provider's own.
  router.use('/oauth/register', openCors('POST'));
  router.use(
    createConsentRouter({
      provider,
      settings: options.settings,
      audit: options.audit,
      publicOrigin: issuer,
      resource,
      attemptsPerMinute: options.consentAttemptsPerMinute ?? 10,
      passwordGuesses: options.passwordGuesses ?? new PasswordGuesses(),
      stateDir: options.stateDir
    })
  );
  router.use((req, res, next) => {
    if (isProviderPath(req.path)) void callback(req, res);
    else next();
  });

  const pruner = setInterval(() => {
    try {
      store.prune();
    } catch (error) {
      options.log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'pruning OAuth state failed'
      );
    }
  }, PRUNE_INTERVAL_MS);
  pruner.unref();

  return {
    router,
    verifier: createAccessTokenVerifier(provider, store, resource),
    issuer,
    resource,
    scope: MCP_SCOPE,
    grants: () => Promise.resolve(grantViews(store)),
    revokeGrant: id => Promise.resolve(store.revokeGrant(id)),
    close: () => {
      clearInterval(pruner);
      return Promise.resolve();
    }
  };
}
