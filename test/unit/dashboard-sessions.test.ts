import { describe, expect, it } from 'vitest';
import {
  cookieValue,
  DashboardSessions,
  sameToken,
  SESSION_TTL_MS
} from '../../src/http/ui/dashboard-sessions.js';

describe('dashboard sessions', () => {
  it('finds a login by its id until it expires, then forgets it', () => {
    let now = 1_000;
    const sessions = new DashboardSessions(() => now);
    const session = sessions.create();
    expect(session.id).not.toBe(session.csrf);
    expect(sessions.find(session.id)).toEqual(session);
    expect(sessions.find('another id')).toBeUndefined();
    expect(sessions.find(undefined)).toBeUndefined();
    now += SESSION_TTL_MS;
    expect(sessions.find(session.id)).toBeUndefined();
  });

  it('forgets a login that logged out', () => {
    const sessions = new DashboardSessions();
    const session = sessions.create();
    sessions.delete(session.id);
    expect(sessions.find(session.id)).toBeUndefined();
  });

  it('accepts only the very CSRF token', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abd', 'abc')).toBe(false);
    expect(sameToken('abcd', 'abc')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(cookieValue('a=1; mgw_dashboard=xyz; b=2', 'mgw_dashboard')).toBe('xyz');
    expect(cookieValue('xmgw_dashboard=no', 'mgw_dashboard')).toBeUndefined();
    expect(cookieValue(undefined, 'mgw_dashboard')).toBeUndefined();
  });
});
