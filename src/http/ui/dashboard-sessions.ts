import { randomBytes, timingSafeEqual } from 'node:crypto';

/** One administrator's login to the dashboard: the cookie's value and the CSRF token its page sends. */
export interface DashboardSession {
  readonly id: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

/** How long a login lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Logins kept at once; past it the oldest is dropped, so memory stays bounded. */
const MAX_SESSIONS = 1000;

/**
 * The dashboard's logins, in memory: a restart logs everyone out (the password logs them in again).
 * Ids and CSRF tokens are 32 random bytes; a lookup by id and a CSRF check are constant-time in the
 * comparison.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(): DashboardSession {
    const session = { id: token(), csrf: token(), expiresAt: this.now() + SESSION_TTL_MS };
    this.sessions.set(session.id, session);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  /** The live session with this id, if any; an expired one is forgotten. */
  find(id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }
}

/** A fresh secret, URL- and cookie-safe. */
export function token(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `sent` is `expected`, compared in constant time. */
export function sameToken(sent: string | undefined, expected: string): boolean {
  if (sent === undefined) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index !== -1 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
