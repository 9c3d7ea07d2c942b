import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';

/** scrypt cost: N=2^15 takes ~50-100 ms here, slow enough to make guessing expensive. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, SCRYPT, (error, key) => (error ? reject(error) : resolve(key)))
  );
}

/** Small persistent settings of the gateway; today the admin password (as a slow hash only). */
export class SettingsStore {
  constructor(private readonly db: DatabaseSync) {}

  async setAdminPassword(password: string): Promise<void> {
    const salt = randomBytes(16);
    const key = await derive(password, salt);
    const value = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
    this.db
      .prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'
      )
      .run('admin_password', value);
  }

  hasAdminPassword(): boolean {
    return this.db.prepare('SELECT 1 FROM settings WHERE key = ?').get('admin_password') !== undefined;
  }

  /** True when `password` is the admin password. Constant-time in the comparison. */
  async verifyAdminPassword(password: string): Promise<boolean> {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get('admin_password') as
      { value: string } | undefined;
    if (!row) return false;
    const [scheme, , , , salt, hash] = row.value.split('$');
    if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = await derive(password, Buffer.from(salt, 'base64'));
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
