import type { Principal } from './principal.js';

/** A bearer token that was recognised but must be refused: expired, revoked, or for another audience. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/**
 * One way of accepting bearer tokens (the gateway's own tokens, its OAuth access tokens, an
 * external OIDC issuer's). `verify` resolves the principal for a token it accepts, `undefined` for
 * a token that is not its kind (the next verifier is asked), and rejects with
 * {@link InvalidTokenError} for a token of its kind that must be refused.
 */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | undefined>;
}
