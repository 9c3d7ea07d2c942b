import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from './store-error.js';
import { makeDirs } from '../files/make-dirs.js';

/** The file in the state directory holding the key that seals remote servers' OAuth credentials. */
export const CREDENTIAL_KEY_FILE = 'remote-oauth.key';

const KEY_BYTES = 32;

/**
 * The AES-256 key for remote OAuth credentials, from `stateDir`'s key file, created (0600, 32
 * random bytes, base64) on first use. It lives beside the database rather than in it, so a copy
 * of the database alone redeems no token. A key file readable by others is narrowed to 0600 when
 * this user owns it. Throws a {@link StoreError} naming the file when it cannot be made or read,
 * or does not hold a key.
 */
export function loadCredentialKey(stateDir: string): Buffer {
  const file = path.resolve(stateDir, CREDENTIAL_KEY_FILE);
  try {
    makeDirs(path.dirname(file), 0o700);
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StoreError(
        'unavailable',
        `cannot create the credential key file ${file}: ${(error as Error).message}. ` +
          'Check that the state directory (--state-dir, STATE_DIR) is writable by this user',
        { cause: error }
      );
    }
  }
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // not ours to change: reading it below says what matters
  }
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (error) {
    throw new StoreError(
      'unavailable',
      `cannot read the credential key file ${file}: ${(error as Error).message}. Make it readable by this user`,
      { cause: error }
    );
  }
  if (key.length !== KEY_BYTES) {
    throw new StoreError(
      'damaged',
      `the credential key file ${file} does not hold a ${KEY_BYTES}-byte base64 key. Restore it from a ` +
        'backup, or delete it (remote servers with OAuth then need `mcp-gateway login SERVER` again)'
    );
  }
  return key;
}
