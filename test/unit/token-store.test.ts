import { describe, expect, it } from 'vitest';
import { TokenStore } from '../../src/store/token-store.js';
import { memoryDatabase } from '../support/memory-database.js';

describe('TokenStore.revoke', () => {
  it('revokes one token: by id first, so a token named like another one’s id is left alone', () => {
    const tokens = new TokenStore(memoryDatabase());
    const first = tokens.create({ name: 'first' }).token;
    const lookalike = tokens.create({ name: first.id }).token;
    expect(tokens.revoke(first.id)).toBe(true);
    expect(tokens.get(first.id)?.revokedAt).not.toBeNull();
    expect(tokens.get(lookalike.id)?.revokedAt).toBeNull();
    // By name when no token has that id; by id only when asked so.
    expect(tokens.revokeById(first.id)).toBe(false);
    expect(tokens.revokeById('first')).toBe(false);
    expect(tokens.revoke(lookalike.name)).toBe(false); // that name is an id: the revoked token's
    expect(tokens.revokeById(lookalike.id)).toBe(true);
  });
});
