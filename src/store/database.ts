import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Schema changes, in order. Each runs once, in a transaction, and the database records how many
 * have run (`PRAGMA user_version`). Append only: never edit a migration that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE catalog (
     server_id TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     era TEXT NOT NULL,
     tools TEXT NOT NULL,
     discovered_at TEXT NOT NULL
   )`
];

/** Opens (creating and migrating as needed) the gateway's state database in `stateDir`. */
export function openDatabase(stateDir: string): DatabaseSync {
  mkdirSync(stateDir, { recursive: true });
  const db = new DatabaseSync(path.join(stateDir, 'gateway.db'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrate(db);
  return db;
}

function migrate(db: DatabaseSync): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  for (let version = row.user_version; version < MIGRATIONS.length; version++) {
    db.exec('BEGIN');
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}
