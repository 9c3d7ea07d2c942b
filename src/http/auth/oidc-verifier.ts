import type { TokenVerifier } from '../../auth/token-verifier.js';

export interface OidcVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri?: string | undefined;
}

/** Placeholder until the external OIDC verifier lands: refuses to start rather than accept anything. */
export function createOidcVerifier(_options: OidcVerifierOptions): TokenVerifier {
  throw new Error('gateway.auth.mode oidc is not available yet');
}
