import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { migrateDatabase, openDatabase } from '../../src/store/database.js';
import { DatabaseSync } from 'node:sqlite';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gateway-database-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('openDatabase', () => {
  it('creates the state directory 0700 and the database and its WAL files 0600', () => {
    const stateDir = path.join(dir, 'nested', 'state');
    const db = openDatabase(stateDir);
    db.exec("INSERT INTO settings (key, value) VALUES ('k', 'v')");
    expect(modeOf(stateDir)).toBe(0o700);
    for (const suffix of ['', '-wal', '-shm'])
      expect(modeOf(path.join(stateDir, `gateway.db${suffix}`))).toBe(0o600);
    db.close();
  });

  it('tightens an existing database readable by others to 0600', () => {
    openDatabase(dir).close();
    chmodSync(path.join(dir, 'gateway.db'), 0o644);
    openDatabase(dir).close();
    expect(modeOf(path.join(dir, 'gateway.db'))).toBe(0o600);
  });

  it('refuses a file that is not a database, naming it and the flag, and moves it aside only with the flag', () => {
    const file = path.join(dir, 'gateway.db');
    writeFileSync(file, 'x'.repeat(8192));
    expect(() => openDatabase(dir)).toThrow(
      expect.objectContaining({
        name: 'StoreError',
        code: 'damaged',
        message: expect.stringMatching(
          /^the state database .*gateway\.db is damaged \(.*--reset-damaged-state/
        )
      })
    );
    const moved: string[] = [];
    const db = openDatabase(dir, { resetDamaged: true, onMovedAside: to => moved.push(to) });
    expect(moved).toHaveLength(1);
    expect(statSync(moved[0]!).size).toBe(8192);
    expect(db.prepare('PRAGMA quick_check').get()).toEqual({ quick_check: 'ok' });
    db.close();
  });
});

describe('the migration that gives catalog entries every kind', () => {
  it('keeps a row stored before it out of the loaded catalog, so its server is rediscovered', () => {
    // The schema just before it: the seventh migration adds the column.
    const db = new DatabaseSync(':memory:');
    migrateDatabase(db, 6);
    db.prepare(
      `INSERT INTO catalog (server_id, fingerprint, era, tools, discovered_at) VALUES ('old', 'f', '{"kind":"legacy"}', '[]', 'then')`
    ).run();
    migrateDatabase(db);
    const store = new CatalogStore(db);
    expect(store.loadAll()).toEqual([]);
    const entry = {
      serverId: 'new',
      fingerprint: 'f',
      era: { kind: 'legacy' as const },
      tools: [],
      prompts: [{ name: 'p' }],
      resources: [{ uri: 'ui://x', name: 'x' }],
      resourceTemplates: [{ uriTemplate: 'ui://{y}', name: 'y' }],
      instructions: 'Use me',
      capabilities: { prompts: {}, resources: {} },
      discoveredAt: 'now'
    };
    store.save(entry);
    expect(store.loadAll()).toEqual([entry]);
    db.close();
  });
});

describe('the migration that keeps OAuth ids out of payloads', () => {
  it('removes the id and the session cookie from stored token, code and interaction payloads', () => {
    // The schema before the write probe (the fifth migration) and this one (the sixth).
    const db = new DatabaseSync(':memory:');
    migrateDatabase(db, 4);
    const insert = db.prepare('INSERT INTO oauth_models (kind, id, payload) VALUES (?, ?, ?)');
    insert.run('RefreshToken', 'h1', JSON.stringify({ jti: 'secret-refresh', grantId: 'g1' }));
    insert.run(
      'Interaction',
      'h2',
      JSON.stringify({ jti: 'uid', session: { uid: 'u', cookie: 'secret-sid' } })
    );
    insert.run('Grant', 'h3', JSON.stringify({ jti: 'g1', clientId: 'c' }));
    migrateDatabase(db);
    const payloads = (
      db.prepare('SELECT payload FROM oauth_models ORDER BY id').all() as { payload: string }[]
    ).map(row => JSON.parse(row.payload) as unknown);
    expect(payloads).toEqual([{ grantId: 'g1' }, { session: { uid: 'u' } }, { jti: 'g1', clientId: 'c' }]);
    db.close();
  });
});
