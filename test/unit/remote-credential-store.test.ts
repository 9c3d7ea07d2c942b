import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDENTIAL_KEY_FILE, loadCredentialKey } from '../../src/store/credential-key.js';
import { RemoteCredentialStore } from '../../src/store/remote-credential-store.js';
import { memoryDatabase } from '../support/memory-database.js';

const alice = { serverId: 'docs', principal: 'alice' };
const bob = { serverId: 'docs', principal: 'bob' };
const dirs: string[] = [];

function stateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cred-key-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('RemoteCredentialStore', () => {
  it('stores values sealed: the row holds no plaintext, and reads give the value back', () => {
    const db = memoryDatabase();
    const store = new RemoteCredentialStore(db, () => loadCredentialKey(stateDir()));
    store.write(alice, 'tokens', { access_token: 'secret-access', refresh_token: 'secret-refresh' });
    const { sealed } = db.prepare('SELECT sealed FROM remote_credentials').get() as { sealed: string };
    expect(sealed).not.toContain('secret');
    expect(store.read(alice, 'tokens')).toEqual({
      access_token: 'secret-access',
      refresh_token: 'secret-refresh'
    });
    expect(store.read(bob, 'tokens')).toBeUndefined();
  });

  it('refuses a tampered value, and one moved into another principal’s row', () => {
    const db = memoryDatabase();
    const store = new RemoteCredentialStore(db, () => loadCredentialKey(stateDir()));
    store.write(alice, 'tokens', { access_token: 'a' });
    const { sealed } = db.prepare('SELECT sealed FROM remote_credentials').get() as { sealed: string };
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    db.prepare('UPDATE remote_credentials SET sealed = ?').run(`v1.${bytes.toString('base64')}`);
    expect(() => store.read(alice, 'tokens')).toThrow(
      expect.objectContaining({
        code: 'tampered',
        message: expect.stringContaining('mcp-gateway login docs')
      })
    );

    // Alice's intact value copied into Bob's row does not open as Bob's.
    store.write(alice, 'tokens', { access_token: 'a' });
    db.prepare(
      `INSERT INTO remote_credentials (server_id, principal, kind, sealed, updated_at)
       SELECT server_id, 'bob', kind, sealed, updated_at FROM remote_credentials WHERE principal = 'alice'`
    ).run();
    expect(() => store.read(bob, 'tokens')).toThrow(expect.objectContaining({ code: 'tampered' }));
  });

  it('refuses a value sealed under another key', () => {
    const db = memoryDatabase();
    new RemoteCredentialStore(db, () => loadCredentialKey(stateDir())).write(alice, 'client', {
      client_id: 'x'
    });
    const other = new RemoteCredentialStore(db, () => loadCredentialKey(stateDir()));
    expect(() => other.read(alice, 'client')).toThrow(expect.objectContaining({ code: 'tampered' }));
  });

  it('forgets one principal without touching another', () => {
    const store = new RemoteCredentialStore(memoryDatabase(), () => loadCredentialKey(stateDir()));
    store.write(alice, 'tokens', { access_token: 'a' });
    store.write(bob, 'tokens', { access_token: 'b' });
    expect(store.forget(alice)).toBe(true);
    expect(store.forget(alice)).toBe(false);
    expect(store.read(alice, 'tokens')).toBeUndefined();
    expect(store.read(bob, 'tokens')).toEqual({ access_token: 'b' });
  });
});

describe('loadCredentialKey', () => {
  it('creates the key file 0600 and gives the same key on every load', () => {
    const dir = stateDir();
    const key = loadCredentialKey(dir);
    expect(key).toHaveLength(32);
    expect(statSync(path.join(dir, CREDENTIAL_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(loadCredentialKey(dir).equals(key)).toBe(true);
  });

  it('narrows a key file readable by others to 0600', () => {
    const dir = stateDir();
    const file = path.join(dir, CREDENTIAL_KEY_FILE);
    writeFileSync(file, `${Buffer.alloc(32, 7).toString('base64')}\n`);
    chmodSync(file, 0o644);
    expect(loadCredentialKey(dir).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file that holds no key, naming it', () => {
    const dir = stateDir();
    writeFileSync(path.join(dir, CREDENTIAL_KEY_FILE), 'short\n', { mode: 0o600 });
    expect(() => loadCredentialKey(dir)).toThrow(
      expect.objectContaining({ code: 'damaged', message: expect.stringContaining(CREDENTIAL_KEY_FILE) })
    );
  });
});
