import { describe, expect, it } from 'vitest';
import { profileRefusal, type Principal } from '../../src/auth/principal.js';
import { resourceTarget } from '../../src/http/oauth/profile-resource.js';

const token = (profiles?: string[]): Principal => ({ id: 'token:t', kind: 'token', admin: false, profiles });

describe('profileRefusal', () => {
  it('lets an unbound principal (or none) use the root and every profile', () => {
    expect(profileRefusal(undefined, undefined)).toBeUndefined();
    expect(profileRefusal(token(), undefined)).toBeUndefined();
    expect(profileRefusal(token(), 'dev')).toBeUndefined();
  });

  it('lets a bound principal use its profiles only, saying which it may use', () => {
    expect(profileRefusal(token(['dev', 'ops']), 'ops')).toBeUndefined();
    expect(profileRefusal(token(['dev']), 'research')).toBe(
      'Forbidden: token:t is bound to profile dev and may not use profile research; connect to /mcp/dev'
    );
    expect(profileRefusal(token(['dev', 'ops']), undefined)).toBe(
      'Forbidden: token:t is bound to profiles dev, ops and may not use the root /mcp; connect to /mcp/dev, /mcp/ops'
    );
  });
});

describe('resourceTarget', () => {
  const root = 'https://gw.example/mcp';
  it('tells the root resource, a profile URL and anything else apart', () => {
    expect(resourceTarget(root, root)).toEqual({ profile: undefined });
    expect(resourceTarget(root, `${root}/dev`)).toEqual({ profile: 'dev' });
    // The 2024-11-05 transport's URLs name the same resources.
    expect(resourceTarget(root, 'https://gw.example/sse')).toEqual({ profile: undefined });
    expect(resourceTarget(root, 'https://gw.example/sse/dev')).toEqual({ profile: 'dev' });
    for (const other of [
      'https://gw.example/ssex',
      'https://gw.example/sse/Dev',
      'https://gw.example/messages',
      `${root}/dev/x`,
      `${root}/Dev`,
      `${root}x`,
      'https://elsewhere.example/mcp',
      `${root}/`
    ]) {
      expect(resourceTarget(root, other), other).toBeUndefined();
    }
  });
});
