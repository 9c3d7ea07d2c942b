import type { DatabaseSync } from 'node:sqlite';
import { Router, type RequestHandler } from 'express';
import { gatewayTokenVerifier } from './auth/gateway-token-verifier.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import { exposureProblem } from './config/exposure.js';
import type { GatewaySettingsSchema } from './config/schema.js';
import { describeError } from './errors.js';
import type { AccessList } from './http/api/access-routes.js';
import { authenticate } from './http/auth/authenticate.js';
import { bearerOnly } from './http/auth/bearer-only.js';
import { openCors } from './http/auth/open-cors.js';
import { StandingStreams } from './http/auth/standing-streams.js';
import { isLoopback } from './config/loopback.js';
import { grantViews } from './http/oauth/grants.js';
import { OAuthModelStore } from './http/oauth/oauth-model-store.js';
import type { OAuthServer } from './http/oauth/oauth-server.js';
import { PasswordGuesses } from './http/password-guesses.js';
import { rateLimit } from './http/rate-limit.js';
import type { Logger } from './log.js';
import { AuditLog } from './store/audit-log.js';
import { SettingsStore } from './store/settings-store.js';
import { TokenStore } from './store/token-store.js';
import type { z } from 'zod';

/** The gateway refuses to start this way; the message says why and what to do. */
export class UnsafeStartError extends Error {
  override readonly name = 'UnsafeStartError';
}

export interface SecurityOptions {
  readonly gateway: z.output<typeof GatewaySettingsSchema>;
  /** The address the gateway binds. */
  readonly host: string;
  readonly allowUnauthenticated: boolean;
  readonly db: DatabaseSync;
  /** The state directory (absolute), for the command that sets a missing admin password. */
  readonly stateDir: string;
  /** The profiles served now (`/mcp/<profile>`): each has its protected resource metadata and OAuth resource. */
  readonly profiles?: (() => readonly string[]) | undefined;
  readonly log: Logger;
}

/**
 * Who may call, composed in one place: the gateway's tokens, the OAuth server or OIDC verifier
 * the config asks for, the audit log, the protected resource metadata, and the middleware that
 * `/mcp` (any principal, rate-limited) and `/api` and `/metrics` (admins only) run behind.
 */
export async function createSecurity(options: SecurityOptions) {
  const { gateway, log, db } = options;
  const mode = gateway.auth.mode;
  const exposed = exposureProblem({
    host: options.host,
    mode,
    allowUnauthenticated: options.allowUnauthenticated
  });
  if (exposed) throw new UnsafeStartError(exposed);
  const audit = new AuditLog(db, error =>
    log.error({ err: describeError(error) }, 'writing the audit log failed')
  );
  const tokens = new TokenStore(db);
  const settings = new SettingsStore(db);
  // One bound on wrong admin passwords for every form that takes it (consent page, dashboard login).
  const passwordGuesses = new PasswordGuesses();
  const publicUrl = gateway.publicUrl?.replace(/\/+$/, '');

  let oauth: OAuthServer | undefined;
  const verifiers: TokenVerifier[] = [gatewayTokenVerifier(tokens)];
  if (mode === 'oauth') {
    // The config schema has checked publicUrl (present, https or loopback http, an origin).
    if (!publicUrl) throw new UnsafeStartError('gateway.auth.mode oauth needs gateway.publicUrl');
    const url = new URL(publicUrl);
    // Loaded only when used: oidc-provider is a large module a gateway without OAuth never needs.
    const { createOAuthServer } = await import('./http/oauth/oauth-server.js');
    oauth = await createOAuthServer({
      publicUrl,
      db,
      settings,
      audit,
      log,
      allowInsecure: isLoopback(url.hostname),
      stateDir: options.stateDir,
      profiles: options.profiles,
      passwordGuesses
    });
    verifiers.push(oauth.verifier);
  }
  if (mode === 'oidc') {
    // The config schema has checked the issuer and the audience; these throws only narrow types.
    const oidc = gateway.auth.oidc;
    if (!oidc) throw new UnsafeStartError('gateway.auth.mode oidc needs gateway.auth.oidc.issuer');
    const { createOidcVerifier } = await import('./http/auth/oidc-verifier.js');
    const audience = oidc.audience ?? (publicUrl ? `${publicUrl}/mcp` : undefined);
    if (!audience) {
      throw new UnsafeStartError(
        'gateway.auth.mode oidc needs gateway.auth.oidc.audience or gateway.publicUrl'
      );
    }
    verifiers.push(createOidcVerifier({ issuer: oidc.issuer, audience, jwksUri: oidc.jwksUri }));
  }

  // RFC 9728: where a client learns which authorization server guards /mcp.
  const authorizationServers =
    oauth?.issuer !== undefined
      ? [oauth.issuer]
      : mode === 'oidc' && gateway.auth.oidc
        ? [gateway.auth.oidc.issuer]
        : [];
  const resourceMetadataPath = '/.well-known/oauth-protected-resource/mcp';
  const resourceMetadataUrl =
    publicUrl && authorizationServers.length > 0 ? `${publicUrl}${resourceMetadataPath}` : undefined;
  const metadata: Router = Router();
  if (resourceMetadataUrl) {
    const document = {
      resource: oauth?.resource ?? `${publicUrl}/mcp`,
      authorization_servers: authorizationServers,
      bearer_methods_supported: ['header'],
      // Without it, clients ask for every scope the server advertises (openid, offline_access).
      ...(oauth ? { scopes_supported: [oauth.scope] } : {}),
      resource_name: 'mcp-gateway'
    };
    // Public documents: a client in a browser reads them too.
    metadata.use('/.well-known/oauth-protected-resource', openCors('GET'));
    metadata.get([resourceMetadataPath, '/.well-known/oauth-protected-resource'], (_req, res) => {
      res.json(document);
    });
    // A profile's URL is a resource of its own, so a client given /mcp/<profile> (Claude.ai) finds
    // it; an OAuth token for it is bound to the profile. The 2024-11-05 transport's URLs (/sse,
    // /sse/<profile>) are named resources too: its clients check that the resource is the URL they
    // were given. An external OIDC provider's tokens carry the root resource only.
    if (oauth) {
      const root = document.resource;
      const sseRoot = `${root.slice(0, -'/mcp'.length)}/sse`;
      metadata.get('/.well-known/oauth-protected-resource/sse', (_req, res) => {
        res.json({ ...document, resource: sseRoot });
      });
      for (const base of [root, sseRoot]) {
        metadata.get(
          `/.well-known/oauth-protected-resource${new URL(base).pathname}/:profile`,
          (req, res, next) => {
            const { profile } = req.params;
            if (!(options.profiles?.() ?? []).includes(profile)) {
              next();
              return;
            }
            res.json({
              ...document,
              resource: `${base}/${profile}`,
              resource_name: `mcp-gateway ${profile}`
            });
          }
        );
      }
    }
  }
  if (oauth) metadata.use(oauth.router);
  if (mode === 'token') metadata.use(bearerOnly);

  // Streams opened with a token end once it is revoked or expires (checked as often as the token
  // store's cache lets a revocation be seen); each is audited as the refusal of a request is.
  const standing = new StandingStreams((res, reason) => {
    // Express rewrites `url` under a mount (`/api`): `originalUrl` is the path the client asked for.
    const req = res.req as typeof res.req & { originalUrl?: string };
    const path = (req.originalUrl ?? req.url)?.split('?')[0];
    audit.record('auth_failed', {
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      detail: { reason, path, method: req.method, stream: 'ended' }
    });
    log.info({ reason, path }, 'ended a stream whose token is no longer accepted');
  });
  const authOptions = {
    mode,
    verifiers,
    standing,
    resourceMetadataUrl,
    // The one scope the gateway's OAuth server issues; an external provider's are its own.
    scope: oauth?.scope,
    profileMetadata: oauth !== undefined,
    audit
  };
  const limiter = rateLimit(gateway.limits.requestsPerMinute);
  const forMcp: RequestHandler[] = [authenticate(authOptions, 'any'), limiter];
  const forAdmin: RequestHandler[] = [authenticate(authOptions, 'admin'), limiter];
  return {
    mode,
    audit,
    tokens,
    /** The admin password, which the dashboard's login checks. */
    settings,
    /** The bound on wrong admin passwords from all addresses, for every form that takes it. */
    passwordGuesses,
    /** The tokens and OAuth grants, for the API's `/tokens`. */
    access: accessList(tokens, new OAuthModelStore(db)),
    oauth,
    /** Mounted before everything else: metadata documents and the OAuth endpoints. */
    metadata,
    forMcp,
    forAdmin,
    close: async () => {
      standing.close();
      await oauth?.close();
    }
  };
}

/** The gateway's tokens and OAuth grants; revoked by id only (names could collide with ids). */
function accessList(tokens: TokenStore, oauthModels: OAuthModelStore): AccessList {
  return {
    tokens: () => tokens.list(),
    grants: () => grantViews(oauthModels),
    revoke: id => (tokens.revokeById(id) ? 'token' : oauthModels.revokeGrant(id) ? 'grant' : undefined)
  };
}
