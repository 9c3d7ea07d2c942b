import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { scopedToCaller } from '../../src/sessions/cache-scope.js';

const anonymous: Principal = { id: 'ip:127.0.0.1', kind: 'anonymous', admin: false };
const token: Principal = { id: 'token:ci', kind: 'token', admin: false, servers: ['fixture'] };
const publicRead = { contents: [{ uri: 'file:///a', text: 'a' }], ttlMs: 60_000, cacheScope: 'public' };

describe('scopedToCaller', () => {
  it('turns a public cache hint private for an authenticated caller, keeping the rest', () => {
    for (const kind of ['token', 'oauth', 'oidc'] as const) {
      expect(scopedToCaller(publicRead, { ...token, kind })).toEqual({
        ...publicRead,
        cacheScope: 'private'
      });
    }
    expect(publicRead.cacheScope).toBe('public');
  });

  it('treats an unknown caller as authenticated', () => {
    expect(scopedToCaller(publicRead, undefined).cacheScope).toBe('private');
  });

  it('leaves a result alone without authentication, or when it is not public', () => {
    expect(scopedToCaller(publicRead, anonymous)).toBe(publicRead);
    const privateList = { tools: [], ttlMs: 0, cacheScope: 'private' };
    expect(scopedToCaller(privateList, token)).toBe(privateList);
    const noHint = { tools: [] };
    expect(scopedToCaller(noHint, token)).toBe(noHint);
  });
});
