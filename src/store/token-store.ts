import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';

/** Every token the gateway issues starts with this, so verifiers can tell its own at a glance. */
export const TOKEN_PREFIX = 'mgw_';

export interface TokenRecord {
  id: string;
  name: string;
  /** Only these servers, when set. */
  servers: string[] | null;
  /** Only tools matching these globs (on exposed names), when set. */
  tools: string[] | null;
  /** Only these profiles' URLs (`/mcp/<profile>`), not the root `/mcp`, when set. */
  profiles: string[] | null;
  admin: boolean;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface NewToken {
  readonly name: string;
  readonly servers?: readonly string[] | undefined;
  readonly tools?: readonly string[] | undefined;
  readonly profiles?: readonly string[] | undefined;
  readonly admin?: boolean | undefined;
  readonly expiresAt?: Date | undefined;
}

interface Row {
  id: string;
  name: string;
  hash: string;
  servers: string | null;
  tools: string | null;
  profiles: string | null;
  admin: number;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** What checking a presented token found. */
export type TokenCheck =
  | { readonly status: 'valid'; readonly token: TokenRecord }
  | { readonly status: 'expired' | 'revoked'; readonly token: TokenRecord }
  | { readonly status: 'unknown' };

/** How long a checked token is trusted without asking the database again (so revocation takes effect within it). */
const CACHE_MS = 2_000;
/** last_used_at is written at most this often per token. */
const TOUCH_MS = 60_000;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The gateway's bearer tokens. A token is shown once, at creation; only its SHA-256 is stored
 * (tokens are 256 random bits, so a fast hash is enough: there is nothing to guess).
 */
export class TokenStore {
  private readonly cache = new Map<string, { check: TokenCheck; at: number }>();
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: DatabaseSync) {}

  /** Creates a token; the returned `secret` is the only copy of it anywhere. */
  create(spec: NewToken): { secret: string; token: TokenRecord } {
    const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO tokens (id, name, hash, servers, tools, admin, created_at, expires_at, profiles)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
      )
      .run(
        id,
        spec.name,
        hashOf(secret),
        spec.servers ? JSON.stringify(spec.servers) : null,
        spec.tools ? JSON.stringify(spec.tools) : null,
        spec.admin ? 1 : 0,
        now,
        spec.expiresAt?.toISOString() ?? null,
        spec.profiles ? JSON.stringify(spec.profiles) : null
      );
    return { secret, token: this.get(id)! };
  }

  list(): TokenRecord[] {
    return (this.db.prepare('SELECT * FROM tokens ORDER BY created_at').all() as unknown as Row[]).map(view);
  }

  get(idOrName: string): TokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM tokens WHERE id = ? OR name = ?').get(idOrName, idOrName) as
      Row | undefined;
    return row && view(row);
  }

  /**
   * Revokes the token with id `idOrName`, or else the one with that name: one token at most (a token
   * named like another's id is not revoked with it). False when there is no such live token.
   */
  revoke(idOrName: string): boolean {
    const byId = this.db.prepare('SELECT 1 FROM tokens WHERE id = ?').get(idOrName) !== undefined;
    return byId ? this.revokeWhere('id', idOrName) : this.revokeWhere('name', idOrName);
  }

  /** Revokes the token with id `id` only. False when there is no such live token. */
  revokeById(id: string): boolean {
    return this.revokeWhere('id', id);
  }

  private revokeWhere(column: 'id' | 'name', value: string): boolean {
    const result = this.db
      .prepare(`UPDATE tokens SET revoked_at = ? WHERE ${column} = ? AND revoked_at IS NULL`)
      .run(new Date().toISOString(), value);
    this.cache.clear();
    return Number(result.changes) > 0;
  }

  /** Checks a presented token. Cached briefly: this runs on every request. */
  check(secret: string, now = Date.now()): TokenCheck {
    const hash = hashOf(secret);
    const cached = this.cache.get(hash);
    if (cached && now - cached.at < CACHE_MS) return this.withExpiry(cached.check, now);
    const row = this.db.prepare('SELECT * FROM tokens WHERE hash = ?').get(hash) as Row | undefined;
    const check: TokenCheck = !row
      ? { status: 'unknown' }
      : row.revoked_at
        ? { status: 'revoked', token: view(row) }
        : { status: 'valid', token: view(row) };
    if (this.cache.size > 10_000) this.cache.clear(); // unknown tokens must not grow it without bound
    this.cache.set(hash, { check, at: now });
    const result = this.withExpiry(check, now);
    if (result.status === 'valid') this.touch(result.token.id, now);
    return result;
  }

  private withExpiry(check: TokenCheck, now: number): TokenCheck {
    if (check.status === 'valid' && check.token.expiresAt && Date.parse(check.token.expiresAt) <= now) {
      return { status: 'expired', token: check.token };
    }
    return check;
  }

  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? 0) < TOUCH_MS) return;
    this.touched.set(id, now);
    try {
      this.db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(new Date(now).toISOString(), id);
    } catch {
      // bookkeeping only
    }
  }
}

function view(row: Row): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    servers: row.servers === null ? null : (JSON.parse(row.servers) as string[]),
    tools: row.tools === null ? null : (JSON.parse(row.tools) as string[]),
    profiles: row.profiles === null ? null : (JSON.parse(row.profiles) as string[]),
    admin: row.admin === 1,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at
  };
}
