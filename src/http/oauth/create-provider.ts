import Provider, { errors, type Configuration, type ErrorOut } from 'oidc-provider';
import { messagePage, PAGE_HEADERS } from './consent-page.js';
import type { OAuthModelStore } from './oauth-model-store.js';
import type { OAuthSecrets } from './oauth-secrets.js';
import { resourceTarget } from './profile-resource.js';
import { applyRedirectUriRules } from './redirect-uris.js';

/** The one scope of the MCP resource; the owner's approval grants all of it. */
export const MCP_SCOPE = 'mcp';

/** The single account: the gateway's owner, who approves clients with the admin password. */
export const OWNER_ACCOUNT_ID = 'owner';

/** Where the consent page lives; oidc-provider redirects the browser there to approve a client. */
export const CONSENT_PATH = '/oauth/consent';

export interface ProviderOptions {
  /** The issuer identifier: the gateway's public origin. */
  readonly issuer: string;
  /** The MCP resource (`${publicUrl}/mcp`): the `resource` and audience of tokens for the whole gateway. */
  readonly resource: string;
  /** The profiles served now: `${resource}/<profile>` is a resource too (a token bound to it). */
  readonly profiles?: (() => readonly string[]) | undefined;
  readonly store: OAuthModelStore;
  readonly secrets: OAuthSecrets;
  /** Seconds. */
  readonly accessTokenTtl: number;
  /** Seconds; each rotation starts a new period. */
  readonly refreshTokenTtl: number;
  /** Fetches Client ID Metadata Documents; oidc-provider's own SSRF-guarded fetch when unset. */
  readonly fetch?: typeof fetch | undefined;
}

const DAY = 86_400;

/**
 * What the person in the browser should do after an authorization error. An unknown client is one
 * the gateway forgot (a registration is pruned a day after its grant ended, or unused): starting
 * again from the application only repeats the error, since the application keeps its client id.
 */
function adviceFor(error: string, clientId: unknown): string {
  // A metadata document's URL is no registration: its errors say what is wrong with the document.
  if (error === 'invalid_client' && !(typeof clientId === 'string' && clientId.startsWith('https://'))) {
    return (
      'This gateway does not know the application: a registration is forgotten a day after its ' +
      'access was revoked or expired, or when it was never approved. Remove the saved login for ' +
      'this server in the application (Claude.ai: remove the connector and add it again), so that ' +
      'it registers anew, then connect again.'
    );
  }
  return 'Start the connection again from your application.';
}

/**
 * The oidc-provider instance behind the gateway's OAuth endpoints, configured as an OAuth 2.1
 * authorization server for one resource: authorization code with PKCE S256 only, the `resource`
 * parameter required and equal to the MCP resource, opaque access tokens whose audience is that
 * resource, rotating refresh tokens, revocation, open dynamic registration and Client ID Metadata
 * Documents. Every endpoint lives under `/oauth`; the metadata documents at the issuer's
 * well-known URLs. Everything oidc-provider would otherwise print a notice about is set here
 * (its notices go to stdout, which this process keeps clean).
 */
export function createProvider(options: ProviderOptions): Provider {
  const { resource } = options;
  const configuration: Configuration = {
    adapter: options.store.adapter,
    jwks: options.secrets.jwks,
    cookies: {
      keys: options.secrets.cookieKeys,
      names: {
        session: 'mgw_oauth_session',
        interaction: 'mgw_oauth_interaction',
        resume: 'mgw_oauth_resume'
      },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' }
    },
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      registration: '/oauth/register',
      revocation: '/oauth/revoke',
      jwks: '/oauth/jwks',
      end_session: '/oauth/session/end'
    },
    interactions: { url: (_ctx, interaction) => `${CONSENT_PATH}/${interaction.uid}` },
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    // Public clients are what MCP clients are, but Claude.ai's connector registers asking for
    // client_secret_post; refusing it would refuse the main client. A secret adds nothing to
    // bypass: PKCE and the owner's approval still gate every grant.
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    // A registered `scope` would be an allowlist checked against this server's scopes, and clients
    // register whatever they like there (Claude.ai has sent `claudeai`). Here it restricts nothing
    // (the owner approves one resource, all of it), so it is dropped instead of failing the
    // registration. Listing `scope` makes oidc-provider run this validator, once per client
    // (registered, from a metadata document, or loaded), before its own checks: the redirect URI
    // rules go here too.
    extraClientMetadata: {
      properties: ['scope'],
      validator: (_ctx, key, _value, metadata) => {
        if (key !== 'scope') return;
        delete metadata.scope;
        applyRedirectUriRules(metadata);
      }
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256'
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: false },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens; anyone else's is ignored silently (RFC 7009 §2.2).
        allowedPolicy: (_ctx, client, token) => Promise.resolve(token.clientId === client.clientId)
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => {
          if (oneOf) return Promise.resolve(oneOf);
          throw new errors.InvalidTarget(
            `the resource parameter is required; this server serves ${resource}`
          );
        },
        // The root resource, or a profile's URL (`${resource}/<profile>`): a token for it is bound
        // to that profile. The `/sse` URLs name the same (see resourceTarget).
        getResourceServerInfo: (_ctx, indicator) => {
          const target = resourceTarget(resource, indicator);
          const served = options.profiles?.() ?? [];
          if (!target || (target.profile !== undefined && !served.includes(target.profile))) {
            const profiles = served.map(name => ` or ${resource}/${name}`).join('');
            throw new errors.InvalidTarget(
              `this server only issues tokens for the resource ${resource}${profiles}`
            );
          }
          return Promise.resolve({
            scope: MCP_SCOPE,
            audience: indicator,
            accessTokenFormat: 'opaque',
            accessTokenTTL: options.accessTokenTtl
          });
        },
        // The grant holds exactly one resource, so a token request without `resource` means it.
        useGrantedResource: () => Promise.resolve(true)
      },
      // Experimental in oidc-provider 9; the ack pins the draft it implements, and a release that
      // changes it incompatibly refuses to start instead of silently behaving differently.
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' }
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx, client) => Promise.resolve(client.grantTypeAllowed('refresh_token')),
    // Tokens outlive the consent page's short browser session: they belong to the client.
    expiresWithSession: () => Promise.resolve(false),
    ttl: {
      AccessToken: options.accessTokenTtl,
      AuthorizationCode: 60,
      RefreshToken: options.refreshTokenTtl,
      Grant: 365 * DAY,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600
    },
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some(uri => URL.parse(uri)?.origin === origin),
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    renderError: (ctx, out: ErrorOut) => {
      const clientId = (ctx as { oidc?: { params?: { client_id?: unknown } } }).oidc?.params?.client_id;
      ctx.type = 'html';
      ctx.set(PAGE_HEADERS);
      ctx.body = messagePage(
        'Authorization failed',
        `${out.error}${out.error_description ? `: ${out.error_description}` : ''}. ${adviceFor(out.error, clientId)}`
      );
      return Promise.resolve();
    }
  };
  const provider = new Provider(options.issuer, configuration);
  // Koa reads the scheme, host and client address from X-Forwarded-*; the gateway's router sets
  // those itself from the configured public URL and Express's `req.ip` before handing a request
  // over, so nothing a client sends decides the issuer.
  provider.proxy = true;
  // The owner approves the resource, all of it: an authorization request is for the resource's
  // scope whatever `scope` it names. Without this, one that leaves `mcp` out (Claude.ai has asked
  // for `claudeai`; other clients send no scope) was denied after the owner approved it, since
  // oidc-provider grants only requested scopes and a grant of none is `access_denied`.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/oauth/authorize') {
      const { scope } = ctx.query;
      const asked = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
      if (!asked.includes(MCP_SCOPE)) ctx.query = { ...ctx.query, scope: [...asked, MCP_SCOPE].join(' ') };
    }
    await next();
  });
  // oidc-provider lists only the OpenID scopes it knows (`openid`, `offline_access`) as
  // `scopes_supported`, yet it issues the resource's scope too, and the protected resource metadata
  // names that one: the metadata lists both, so the two documents agree.
  provider.use(async (ctx, next) => {
    await next();
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    if (route !== 'discovery' || ctx.body === null || typeof ctx.body !== 'object') return;
    const body = ctx.body as { scopes_supported?: string[] };
    body.scopes_supported = [...new Set([...(body.scopes_supported ?? []), MCP_SCOPE])];
  });
  return provider;
}
