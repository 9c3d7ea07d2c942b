import type { TokenStore } from '../store/token-store.js';
import { TOKEN_PREFIX } from '../store/token-store.js';
import type { Principal } from './principal.js';
import { InvalidTokenError, type TokenVerifier } from './token-verifier.js';

/** Why a token of the gateway's form is refused when no such token exists, with where to look. */
const UNKNOWN_TOKEN =
  "unknown token: this gateway issued none such (mistyped, or made for another state directory); 'mcp-gateway token list' shows its tokens";

/** Accepts the gateway's own bearer tokens (`mcp-gateway token create`). */
export function gatewayTokenVerifier(tokens: TokenStore): TokenVerifier {
  return {
    verify(secret: string): Promise<Principal | undefined> {
      if (!secret.startsWith(TOKEN_PREFIX)) return Promise.resolve(undefined);
      const check = tokens.check(secret);
      if (check.status === 'unknown') return Promise.reject(new InvalidTokenError(UNKNOWN_TOKEN));
      if (check.status !== 'valid') {
        return Promise.reject(new InvalidTokenError(`token "${check.token.name}" is ${check.status}`));
      }
      const { token } = check;
      return Promise.resolve({
        id: `token:${token.name}`,
        kind: 'token',
        admin: token.admin,
        servers: token.servers ?? undefined,
        tools: token.tools ?? undefined,
        profiles: token.profiles ?? undefined
      });
    }
  };
}
