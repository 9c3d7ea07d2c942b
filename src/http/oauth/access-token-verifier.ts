import type Provider from 'oidc-provider';
import type { Principal } from '../../auth/principal.js';
import { InvalidTokenError, type TokenVerifier } from '../../auth/token-verifier.js';
import type { OAuthModelStore } from './oauth-model-store.js';
import { resourceTarget } from './profile-resource.js';

/** oidc-provider's opaque token alphabet; anything else (a JWT, an `mgw_` token of a bad shape) is not ours. */
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

/**
 * Accepts the opaque access tokens the gateway's OAuth server issued for `resource`. A token is
 * ours when the store has it, live or as a tombstone: then it is accepted, or refused with
 * {@link InvalidTokenError} when revoked, expired, for another audience, or its grant is gone.
 * A token for a profile's URL (`${resource}/<profile>`) gives a principal bound to that profile.
 * Any other string resolves `undefined`, for the next verifier.
 */
export function createAccessTokenVerifier(
  provider: Provider,
  store: OAuthModelStore,
  resource: string
): TokenVerifier {
  return {
    async verify(token: string): Promise<Principal | undefined> {
      if (!OPAQUE_TOKEN.test(token)) return undefined;
      const stored = store.inspect('AccessToken', token);
      if (stored === undefined) return undefined;
      if (stored.revokedAt !== null) throw new InvalidTokenError('the access token was revoked');
      const accessToken = await provider.AccessToken.find(token);
      if (!accessToken) throw new InvalidTokenError('the access token has expired');
      const audience = [accessToken.aud ?? []].flat();
      const target = audience.map(aud => resourceTarget(resource, aud)).find(found => found !== undefined);
      if (!target) throw new InvalidTokenError('the access token is for another resource');
      if (!accessToken.grantId || !(await provider.Grant.find(accessToken.grantId))) {
        throw new InvalidTokenError('the grant of the access token was revoked');
      }
      return {
        id: `oauth:${accessToken.clientId}`,
        kind: 'oauth',
        admin: false,
        ...(target.profile === undefined ? {} : { profiles: [target.profile] })
      };
    }
  };
}
