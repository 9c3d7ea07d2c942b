import type { RequestHandler } from 'express';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { PRINCIPAL_KEY, type Principal } from '../../auth/principal.js';
import { InvalidTokenError, type TokenVerifier } from '../../auth/token-verifier.js';
import { describeError } from '../../errors.js';
import type { AuditLog } from '../../store/audit-log.js';
import { HttpError } from '../http-error.js';
import { BEARER_REQUIRED } from './bearer-only.js';
import type { StandingStreams } from './standing-streams.js';

export interface AuthenticatorOptions {
  /** `none` lets everyone in as `ip:<address>` (with admin rights: only allowed on loopback or by flag). */
  readonly mode: 'none' | 'token' | 'oauth' | 'oidc';
  /** Asked in order; the first that recognises a token decides. */
  readonly verifiers: readonly TokenVerifier[];
  /** Where clients find the protected resource metadata (RFC 9728), for `WWW-Authenticate`. */
  readonly resourceMetadataUrl?: string | undefined;
  /**
   * The scope a client should ask the authorization server for, named in every 401 challenge
   * (RFC 6750 §3; the MCP authorization spec: clients take it over `scopes_supported`).
   */
  readonly scope?: string | undefined;
  /** Profiles' URLs have metadata of their own (the gateway's OAuth server issues tokens bound to them). */
  readonly profileMetadata?: boolean | undefined;
  readonly audit: AuditLog;
  /**
   * Where a GET that stays open (a session's stream, `/api/events`) has its token checked again
   * while it stands, and ends once the token is refused; none: checked once, at the request.
   */
  readonly standing?: StandingStreams | undefined;
}

/** Query parameters that would carry a token: refused outright (they end up in logs and histories). */
const QUERY_TOKEN_NAMES = ['access_token', 'token', 'api_key', 'apikey', 'bearer'];

/** The principal `authenticate` attached to a request (`res.locals.principal`). */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}

/** A `WWW-Authenticate` value for a refusal of this request: the error and its description. */
export type Challenge = (error?: string, description?: string) => string;

/** The challenge `authenticate` made for a request (`res.locals.challenge`), for refusals after it. */
export function challengeOf(locals: Record<string, unknown>): Challenge | undefined {
  return locals.challenge as Challenge | undefined;
}

/**
 * Finds out who is calling and attaches it: `res.locals.principal`, and `req.auth` (the SDK's
 * `AuthInfo`, which its transports hand to MCP handlers as `ctx.http.authInfo`). Refuses with 401
 * and a `WWW-Authenticate` challenge pointing at the protected resource metadata when the bearer
 * token is missing or bad, and with 403 when `need` is `admin` and the principal is not. Every
 * refusal is audited.
 */
export function authenticate(options: AuthenticatorOptions, need: 'any' | 'admin'): RequestHandler {
  // The scope goes in 401 challenges only: an admin 403 asks for an admin token, which no
  // authorization request obtains.
  const challengeAt =
    (metadataUrl: string | undefined): Challenge =>
    (error, description) =>
      [
        'Bearer realm="mcp-gateway"',
        ...(options.scope && error !== 'insufficient_scope' ? [`scope="${options.scope}"`] : []),
        ...(metadataUrl ? [`resource_metadata="${metadataUrl}"`] : []),
        ...(error ? [`error="${error}"`] : []),
        ...(description ? [`error_description="${description.replace(/["\\\r\n]/g, ' ')}"`] : [])
      ].join(', ');

  return (req, res, next) => {
    const challenge = challengeAt(
      options.profileMetadata
        ? metadataUrlFor(options.resourceMetadataUrl, req.originalUrl)
        : options.resourceMetadataUrl
    );
    res.locals.challenge = challenge;
    const remoteAddress = req.socket.remoteAddress ?? 'unknown';
    /** Audits `reason` and answers `message` (by default the reason). */
    const refuse = (
      status: number,
      reason: string,
      headers: Record<string, string> = {},
      message = reason
    ) => {
      options.audit.record('auth_failed', {
        remoteAddress,
        detail: { reason, path: req.path, method: req.method }
      });
      next(new HttpError(status, -32001, message, headers));
    };
    const query = req.query as Record<string, unknown>;
    if (QUERY_TOKEN_NAMES.some(name => name in query)) {
      refuse(400, 'tokens are not accepted in the query string; send them as Authorization: Bearer <token>');
      return;
    }
    if (options.mode === 'none') {
      attach(
        req as { auth?: AuthInfo },
        res.locals,
        { id: `ip:${remoteAddress}`, kind: 'anonymous', admin: true },
        ''
      );
      next();
      return;
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    if (header === undefined) {
      // With OAuth, a bare challenge (RFC 6750 §3.1) sends the client to the metadata to log in. With
      // tokens only there is nothing to discover: say what is missing, so the client need not guess.
      if (options.mode === 'token') {
        const description =
          'a bearer token is required: send Authorization: Bearer <token> (mcp-gateway token create)';
        refuse(
          401,
          'authentication required',
          { 'www-authenticate': challenge('invalid_token', description) },
          BEARER_REQUIRED
        );
      } else {
        refuse(401, 'authentication required', { 'www-authenticate': challenge() });
      }
      return;
    }
    if (!match) {
      refuse(401, 'malformed Authorization header', { 'www-authenticate': challenge('invalid_request') });
      return;
    }
    const token = match[1]!;
    void verify(options.verifiers, token).then(
      principal => {
        if (!principal) {
          refuse(401, 'invalid token', {
            'www-authenticate': challenge('invalid_token', 'the token is not recognised')
          });
          return;
        }
        if (need === 'admin' && !principal.admin) {
          refuse(403, `${principal.id} may not use the admin API`, {
            'www-authenticate': challenge('insufficient_scope', 'an admin token is required')
          });
          return;
        }
        attach(req as { auth?: AuthInfo }, res.locals, principal, token);
        // A GET may stand open (a stream): it must not outlive its token's revocation or expiry.
        if (req.method === 'GET')
          options.standing?.watch(res, () => refusalNow(options.verifiers, token, need));
        next();
      },
      (error: unknown) => {
        const reason =
          error instanceof InvalidTokenError ? error.message : `token check failed: ${describeError(error)}`;
        refuse(401, reason, { 'www-authenticate': challenge('invalid_token', reason) });
      }
    );
  };
}

/**
 * The protected resource metadata a request's challenge points at, named after the URL the client
 * was given (its resource): a profile's (`/mcp/<profile>`, `/sse/<profile>`) has its own, the
 * 2024-11-05 transport's (`/sse`, and `/messages` it posts to) the `/sse` one, everything else the
 * root's. `rootUrl` is the root's (`…/.well-known/oauth-protected-resource/mcp`).
 */
function metadataUrlFor(rootUrl: string | undefined, requestUrl: string): string | undefined {
  if (rootUrl === undefined) return undefined;
  const [, transport, profile] =
    /^\/(mcp|sse|messages)(?:\/([a-z0-9][a-z0-9_-]{0,31}))?(?:[?#]|$)/.exec(requestUrl) ?? [];
  const base = transport === 'sse' || transport === 'messages' ? rootUrl.replace(/\/mcp$/, '/sse') : rootUrl;
  return transport === 'messages' || profile === undefined ? base : `${base}/${profile}`;
}

async function verify(verifiers: readonly TokenVerifier[], token: string): Promise<Principal | undefined> {
  for (const verifier of verifiers) {
    const principal = await verifier.verify(token);
    if (principal) return principal;
  }
  return undefined;
}

/**
 * Why `token` would be refused now (for `need`), or undefined while it holds. A check that fails for
 * another reason (an OIDC key set out of reach) holds: a stream is not ended for the network.
 */
async function refusalNow(
  verifiers: readonly TokenVerifier[],
  token: string,
  need: 'any' | 'admin'
): Promise<string | undefined> {
  try {
    const principal = await verify(verifiers, token);
    if (!principal) return 'invalid token';
    return need === 'admin' && !principal.admin ? `${principal.id} may not use the admin API` : undefined;
  } catch (error) {
    return error instanceof InvalidTokenError ? error.message : undefined;
  }
}

function attach(
  req: { auth?: AuthInfo },
  locals: Record<string, unknown>,
  principal: Principal,
  token: string
): void {
  locals.principal = principal;
  req.auth = { token, clientId: principal.id, scopes: [], extra: { [PRINCIPAL_KEY]: principal } };
}
