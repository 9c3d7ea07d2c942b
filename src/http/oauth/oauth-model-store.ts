import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** How long expired and revoked rows are kept, so that presenting one is refused rather than unknown. */
const TOMBSTONE_SECONDS = 86_400;

/** A registered client that never obtained a grant is forgotten this long after registering. */
const UNUSED_CLIENT_SECONDS = 86_400;

/** One stored oidc-provider model, whatever its state. */
export interface StoredModel {
  readonly payload: AdapterPayload;
  /** Epoch seconds; null when the model does not expire. */
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

interface Row {
  payload: string;
  expires_at: number | null;
  consumed_at: number | null;
  revoked_at: number | null;
}

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** Kinds whose id is no secret: a client's id is public, a grant's id redeems nothing by itself. */
const PUBLIC_ID_KINDS: ReadonlySet<string> = new Set(['Client', 'Grant']);

/**
 * The payload as stored: without the model's id (`jti`, which for opaque tokens and codes is the
 * token itself) unless the kind's ids are public, and without an interaction's copy of the session
 * cookie (`session.cookie`, the session's id). `find` puts the id back from the value it was asked
 * for; nothing in oidc-provider reads `session.cookie`, and a session found by uid is only read,
 * never saved.
 */
function atRest(kind: string, payload: AdapterPayload): AdapterPayload {
  if (PUBLIC_ID_KINDS.has(kind)) return payload;
  const { jti: _id, ...rest } = payload;
  if (rest.session !== undefined) {
    const { cookie: _cookie, ...session } = rest.session;
    rest.session = session;
  }
  return rest;
}

/**
 * Ids are stored as SHA-256 digests: most of them (access and refresh tokens, codes, session and
 * interaction ids) are bearer secrets, and a copy of the database must not hand them out. Lookups
 * hash the presented id the same way, and {@link atRest} keeps the id out of the payload.
 */
function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * oidc-provider's state (clients, grants, sessions, interactions, codes and tokens) in the
 * `oauth_models` table. node:sqlite is synchronous; the adapter methods are async only because
 * oidc-provider's interface is.
 *
 * Contract with oidc-provider: `find` answers only live models (not expired, not revoked); `destroy`
 * and `revokeByGrantId` make later finds answer nothing. Revoked and expired rows stay as
 * tombstones for a day ({@link inspect} still sees them) and are then removed by {@link prune}.
 */
export class OAuthModelStore {
  constructor(private readonly db: DatabaseSync) {}

  /** The adapter factory for oidc-provider's `adapter` option: one adapter per model kind. */
  readonly adapter: AdapterFactory = (kind: string): Adapter => {
    const find = (where: string, value: string, id?: string): Promise<AdapterPayload | undefined> => {
      const row = this.db
        .prepare(
          `SELECT payload, expires_at, consumed_at, revoked_at FROM oauth_models WHERE kind = ? AND ${where} = ?`
        )
        .get(kind, value) as Row | undefined;
      const payload = row === undefined ? undefined : live(row);
      return Promise.resolve(payload && id !== undefined ? { ...payload, jti: id } : payload);
    };
    return {
      upsert: (id, payload, expiresIn) => {
        this.db
          .prepare(
            `INSERT INTO oauth_models (kind, id, payload, grant_id, user_code, uid, expires_at, consumed_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)
             ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
               user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at,
               consumed_at = NULL, revoked_at = NULL`
          )
          .run(
            kind,
            keyOf(id),
            JSON.stringify(atRest(kind, payload)),
            payload.grantId ?? null,
            payload.userCode ?? null,
            payload.uid ?? null,
            typeof expiresIn === 'number' ? epochSeconds() + expiresIn : null
          );
        return Promise.resolve();
      },
      find: id => find('id', keyOf(id), id),
      findByUid: uid => find('uid', uid),
      findByUserCode: userCode => find('user_code', userCode),
      consume: id => {
        this.db
          .prepare('UPDATE oauth_models SET consumed_at = ? WHERE kind = ? AND id = ?')
          .run(epochSeconds(), kind, keyOf(id));
        return Promise.resolve();
      },
      destroy: id => {
        this.db
          .prepare('UPDATE oauth_models SET revoked_at = ? WHERE kind = ? AND id = ? AND revoked_at IS NULL')
          .run(epochSeconds(), kind, keyOf(id));
        return Promise.resolve();
      },
      // oidc-provider calls this once per token kind; revoking every kind at once is idempotent.
      revokeByGrantId: grantId => {
        this.revokeTokensOf(grantId);
        return Promise.resolve();
      }
    };
  };

  /** The stored model, live or not (expired and revoked ones until they are pruned). */
  inspect(kind: string, id: string): StoredModel | undefined {
    const row = this.db
      .prepare(
        'SELECT payload, expires_at, consumed_at, revoked_at FROM oauth_models WHERE kind = ? AND id = ?'
      )
      .get(kind, keyOf(id)) as Row | undefined;
    if (row === undefined) return undefined;
    return {
      payload: JSON.parse(row.payload) as AdapterPayload,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at
    };
  }

  /** Live grants, oldest first. */
  liveGrants(): AdapterPayload[] {
    const rows = this.db
      .prepare(
        `SELECT payload FROM oauth_models WHERE kind = 'Grant' AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?) ORDER BY json_extract(payload, '$.iat'), rowid`
      )
      .all(epochSeconds()) as unknown as { payload: string }[];
    return rows.map(row => JSON.parse(row.payload) as AdapterPayload);
  }

  /** Revokes a live grant and every code and token issued under it. False when there is none. */
  revokeGrant(grantId: string): boolean {
    const revoked = this.db
      .prepare(
        `UPDATE oauth_models SET revoked_at = ? WHERE kind = 'Grant' AND id = ? AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?)`
      )
      .run(epochSeconds(), keyOf(grantId), epochSeconds());
    this.revokeTokensOf(grantId);
    return revoked.changes > 0;
  }

  /**
   * Removes rows that expired or were revoked more than a day ago, and registered clients that
   * obtained no grant within a day (open registration must not grow the table without bound).
   */
  prune(now = epochSeconds()): void {
    const cutoff = now - TOMBSTONE_SECONDS;
    this.db
      .prepare('DELETE FROM oauth_models WHERE (expires_at IS NOT NULL AND expires_at < ?) OR revoked_at < ?')
      .run(cutoff, cutoff);
    this.db
      .prepare(
        `DELETE FROM oauth_models AS client WHERE kind = 'Client'
           AND json_extract(payload, '$.client_id_issued_at') < ?
           AND NOT EXISTS (SELECT 1 FROM oauth_models AS grant_row WHERE grant_row.kind = 'Grant'
             AND json_extract(grant_row.payload, '$.clientId') = json_extract(client.payload, '$.client_id'))`
      )
      .run(now - UNUSED_CLIENT_SECONDS);
  }

  private revokeTokensOf(grantId: string): void {
    this.db
      .prepare('UPDATE oauth_models SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL')
      .run(epochSeconds(), grantId);
  }
}

/** The payload oidc-provider may use, or undefined for an expired or revoked row. */
function live(row: Row): AdapterPayload | undefined {
  if (row.revoked_at !== null) return undefined;
  if (row.expires_at !== null && row.expires_at <= epochSeconds()) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumed_at !== null) payload.consumed = row.consumed_at;
  return payload;
}
