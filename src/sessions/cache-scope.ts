import type { Principal } from '../auth/principal.js';

/**
 * A 2026-07-28 cacheable result (`tools/list`, `prompts/list`, `resources/list`,
 * `resources/templates/list`, `resources/read`, `server/discover`) as the gateway may answer it to
 * `principal`: never `cacheScope: 'public'` when authentication is on, since then what a caller may
 * list or read depends on its token's scope, and a shared cache must not serve one caller's answer
 * to another. A `public` hint a server gave is turned `private`; `ttlMs` and everything else pass.
 * Without authentication (an anonymous principal) every caller sees the same, and the result is
 * returned as it is. Results the gateway builds itself get the SDK's default (`private`, `ttlMs: 0`).
 */
export function scopedToCaller<T extends object>(result: T, principal: Principal | undefined): T {
  if (principal?.kind === 'anonymous' || (result as { cacheScope?: unknown }).cacheScope !== 'public')
    return result;
  return { ...result, cacheScope: 'private' };
}
