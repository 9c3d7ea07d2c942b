import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { JWK } from 'oidc-provider';

/** The OAuth server's own secrets, generated on first start and kept in the settings table. */
export interface OAuthSecrets {
  /** Private signing keys (ID tokens). */
  readonly jwks: { keys: JWK[] };
  /** Keys that sign the consent flow's cookies. */
  readonly cookieKeys: string[];
}

/**
 * Loads the secrets, generating and storing any that are missing. Insert-if-absent then read:
 * when two processes start on one database at once, both end up with the first one's secrets.
 */
export function loadOAuthSecrets(db: DatabaseSync): OAuthSecrets {
  return {
    jwks: setting(db, 'oauth_jwks', () => ({ keys: [generateSigningKey()] })),
    cookieKeys: setting(db, 'oauth_cookie_keys', () => [randomBytes(32).toString('base64url')])
  };
}

function setting<T>(db: DatabaseSync, key: string, generate: () => T): T {
  const read = () =>
    db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
  let row = read();
  if (row === undefined) {
    db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)').run(
      key,
      JSON.stringify(generate())
    );
    row = read()!;
  }
  return JSON.parse(row.value) as T;
}

/** RS256: the algorithm every OAuth and OIDC client accepts by default. */
function generateSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}
