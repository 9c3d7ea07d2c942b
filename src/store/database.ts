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
   )`,
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     client_name TEXT,
     client_version TEXT,
     protocol_version TEXT,
     capabilities TEXT,
     user_agent TEXT,
     remote_address TEXT,
     principal TEXT,
     opened_at TEXT NOT NULL,
     last_seen_at TEXT NOT NULL,
     closed_at TEXT,
     close_reason TEXT
   );
   CREATE INDEX sessions_opened ON sessions (opened_at);
   CREATE TABLE clients (
     key TEXT PRIMARY KEY,
     principal TEXT,
     client_name TEXT,
     client_version TEXT,
     protocol_version TEXT,
     user_agent TEXT,
     remote_address TEXT,
     first_seen_at TEXT NOT NULL,
     last_seen_at TEXT NOT NULL,
     requests INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE requests (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT,
     client_key TEXT,
     server_id TEXT,
     tool TEXT NOT NULL,
     started_at TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     outcome TEXT NOT NULL,
     error TEXT,
     bytes_in INTEGER NOT NULL,
     bytes_out INTEGER NOT NULL,
     cold INTEGER NOT NULL
   );
   CREATE INDEX requests_started ON requests (started_at);
   CREATE INDEX requests_session ON requests (session_id, id);
   CREATE INDEX requests_server_tool ON requests (server_id, tool, id);`,
  `CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     hash TEXT NOT NULL UNIQUE,
     servers TEXT,
     tools TEXT,
     admin INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     expires_at TEXT,
     revoked_at TEXT,
     last_used_at TEXT
   );
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     event TEXT NOT NULL,
     principal TEXT,
     remote_address TEXT,
     detail TEXT
   );
   CREATE INDEX audit_at ON audit (at);
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE oauth_models (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     payload TEXT NOT NULL,
     grant_id TEXT,
     user_code TEXT,
     uid TEXT,
     expires_at INTEGER,
     consumed_at INTEGER,
     PRIMARY KEY (kind, id)
   );
   CREATE INDEX oauth_models_grant ON oauth_models (grant_id);
   CREATE INDEX oauth_models_uid ON oauth_models (uid);`,
  // The OAuth server keeps revoked tokens as tombstones until they would have expired, so that
  // presenting one is refused as revoked rather than ignored as unknown; expiry drives pruning.
  `ALTER TABLE oauth_models ADD COLUMN revoked_at INTEGER;
   CREATE INDEX oauth_models_expires ON oauth_models (expires_at);`
];

/** Opens (creating and migrating as needed) the gateway's state database in `stateDir`. */
export function openDatabase(stateDir: string): DatabaseSync {
  mkdirSync(stateDir, { recursive: true });
  const db = new DatabaseSync(path.join(stateDir, 'gateway.db'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrateDatabase(db);
  return db;
}

/** Brings `db` to the current schema (for `openDatabase`, and for tests' in-memory databases). */
export function migrateDatabase(db: DatabaseSync): void {
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
