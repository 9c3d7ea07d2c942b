import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Principal } from '../../auth/principal.js';
import { InvalidTokenError, type TokenVerifier } from '../../auth/token-verifier.js';
import { isLoopback } from '../../config/loopback.js';

export interface OidcVerifierOptions {
  /** The provider's issuer identifier, exactly as its tokens carry it in `iss`. */
  readonly issuer: string;
  /** A value the token's `aud` must include: the gateway's MCP resource URL, or what the provider puts there. */
  readonly audience: string;
  /** The provider's key set; discovered from `${issuer}/.well-known/openid-configuration` when unset. */
  readonly jwksUri?: string | undefined;
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 30. */
  readonly clockTolerance?: number | undefined;
}

/** Signature algorithms accepted: public-key ones only, so a key set can never verify an HMAC forged with it. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519'
];

/** A JWS in compact form; a JWE (five parts) or anything else is not a token this verifier reads. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const DISCOVERY_TIMEOUT_MS = 5000;
const DISCOVERY_MAX_BYTES = 100_000;

/**
 * Accepts access tokens of an external OpenID Connect provider: JWTs whose `iss` is `issuer`,
 * signed by a key of its published key set, with `audience` in `aud` and `exp`/`nbf` holding.
 * The principal is `oidc:<sub>`. A token that is not a JWT, or names another issuer, resolves
 * `undefined` (the gateway's own `mgw_` tokens and OAuth tokens fall through to their verifiers);
 * one of this issuer that fails a check is refused with {@link InvalidTokenError}. When the
 * provider cannot be reached (discovery or key set fetch), `verify` rejects with a plain Error:
 * the token was neither accepted nor refused.
 *
 * Keys are fetched on first use and cached by jose, which refetches (at most every 30 s) when a
 * token names a key it does not know, so the provider can rotate keys.
 */
export function createOidcVerifier(options: OidcVerifierOptions): TokenVerifier {
  const { issuer, audience } = options;
  assertSecureUrl(issuer, 'issuer');
  if (options.jwksUri !== undefined) assertSecureUrl(options.jwksUri, 'jwksUri');
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = (): Promise<JWTVerifyGetKey> => {
    keys ??= (
      options.jwksUri !== undefined ? Promise.resolve(options.jwksUri) : discoverJwksUri(issuer)
    ).then(uri => createRemoteJWKSet(new URL(uri), { timeoutDuration: DISCOVERY_TIMEOUT_MS }));
    // A failed discovery is retried by the next token rather than remembered.
    keys.catch(() => (keys = undefined));
    return keys;
  };

  return {
    async verify(token: string): Promise<Principal | undefined> {
      if (!COMPACT_JWS.test(token)) return undefined;
      let claimedIssuer: unknown;
      try {
        claimedIssuer = decodeJwt(token).iss;
      } catch {
        return undefined;
      }
      if (claimedIssuer !== issuer) return undefined;
      const getKey = await keySet();
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer,
          audience,
          algorithms: ALGORITHMS,
          clockTolerance: options.clockTolerance ?? 30
        });
        if (typeof payload.sub !== 'string' || payload.sub === '') {
          throw new InvalidTokenError('the token has no subject');
        }
        return { id: `oidc:${payload.sub}`, kind: 'oidc', admin: false };
      } catch (error) {
        throw refusal(error);
      }
    }
  };
}

/** Turns jose's verdict on a token into an InvalidTokenError; anything else (the network) passes unchanged. */
function refusal(error: unknown): unknown {
  if (error instanceof InvalidTokenError) return error;
  if (error instanceof errors.JWTExpired)
    return new InvalidTokenError('the token has expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    const message =
      error.claim === 'aud'
        ? 'the token is for another audience'
        : `the token's ${error.claim} claim is not acceptable`;
    return new InvalidTokenError(message, { cause: error });
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid
  ) {
    return new InvalidTokenError('the token signature is not valid for this issuer', { cause: error });
  }
  return error;
}

/** The provider's `jwks_uri`, from its discovery document, which must name the same issuer (OIDC Discovery §4.3). */
async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, {
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    headers: { accept: 'application/json' }
  });
  if (!res.ok) throw new Error(`OIDC discovery at ${url} answered ${res.status}`);
  const text = await res.text();
  if (text.length > DISCOVERY_MAX_BYTES)
    throw new Error(`OIDC discovery at ${url} is larger than ${DISCOVERY_MAX_BYTES} bytes`);
  const document = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) {
    throw new Error(
      `OIDC discovery at ${url} names the issuer ${JSON.stringify(document.issuer)}, not ${issuer}`
    );
  }
  if (typeof document.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
  assertSecureUrl(document.jwks_uri, 'jwks_uri');
  return document.jwks_uri;
}

/** Keys and issuers are trusted only over TLS; plain http only on this machine (tests, a local provider). */
function assertSecureUrl(value: string, what: string): void {
  const url = URL.parse(value);
  if (
    url === null ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname)))
  ) {
    throw new Error(`OIDC ${what} ${JSON.stringify(value)} must be an https URL`);
  }
}
