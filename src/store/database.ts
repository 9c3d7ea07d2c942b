import { chmodSync, closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { isDamage, messageOf } from './sqlite-errors.js';
import { StoreError } from './store-error.js';
import { makeDirs } from '../files/make-dirs.js';

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
   CREATE INDEX oauth_models_expires ON oauth_models (expires_at);`,
  // /readyz proves the store can write by committing its one row (a rolled-back write touches no disk).
  `CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL)`,
  // OAuth payloads no longer keep their model's id (for tokens and codes, the secret itself) or an
  // interaction's copy of the session cookie; remove both from rows stored before.
  `UPDATE oauth_models SET payload = json_remove(payload, '$.jti', '$.session.cookie')
     WHERE kind NOT IN ('Client', 'Grant')`,
  // A catalog entry holds every capability kind (prompts, resources, resource templates) and the
  // server's instructions beside its tools. Rows from before have none (NULL): they are rediscovered.
  `ALTER TABLE catalog ADD COLUMN kinds TEXT`,
  // The gateway as an OAuth client of remote servers: its registered client, tokens and discovery
  // state per (server, principal), each sealed with AES-256-GCM (remote-credential-store.ts).
  `CREATE TABLE remote_credentials (
     server_id TEXT NOT NULL,
     principal TEXT NOT NULL,
     kind TEXT NOT NULL,
     sealed TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (server_id, principal, kind)
   )`,
  // What a live 2025-era session needs to be rebuilt after a restart (see store/session-store.ts);
  // the `sessions` table above is its history, kept after it ends.
  `CREATE TABLE session_state (
     id TEXT PRIMARY KEY,
     principal TEXT,
     client_info TEXT NOT NULL,
     capabilities TEXT NOT NULL,
     protocol_version TEXT NOT NULL,
     log_level TEXT,
     subscriptions TEXT NOT NULL DEFAULT '[]',
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL
   )`,
  // Approved definitions (catalog/definition-pins.ts): per server, each tool, prompt and resource
  // template's hash and canonical JSON as approved, and a Docker server's image id (kind 'image').
  `CREATE TABLE pins (
     server_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     hash TEXT NOT NULL,
     definition TEXT NOT NULL,
     approved_at TEXT NOT NULL,
     approved_by TEXT,
     PRIMARY KEY (server_id, kind, name)
   )`,
  // Profiles (`/mcp/<profile>`): the profiles a token is bound to (a JSON array; NULL: any, and the
  // root /mcp), and the profile a kept session was opened on (NULL: the root).
  `ALTER TABLE tokens ADD COLUMN profiles TEXT;
   ALTER TABLE session_state ADD COLUMN profile TEXT;`,
  // What is held now and was announced (logged, an event, an audit entry), with the hash announced,
  // so that a restart does not announce it again (catalog/pin-keeper.ts).
  `CREATE TABLE held_announced (
     server_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     hash TEXT NOT NULL,
     PRIMARY KEY (server_id, kind, name)
   )`,
  // The profile a recorded call came through (NULL: the root /mcp, or the REST API).
  `ALTER TABLE requests ADD COLUMN profile TEXT`
];

/** The state database's file name in the state directory. */
export const DATABASE_FILE = 'gateway.db';

export interface OpenDatabaseOptions {
  /**
   * When the database is damaged, move it (with its WAL) aside and start a new, empty one,
   * instead of refusing (`--reset-damaged-state`). Nothing is ever deleted.
   */
  readonly resetDamaged?: boolean | undefined;
  /** Told, after the fact, where a damaged database was moved and what was wrong with it. */
  readonly onMovedAside?: ((movedTo: string, problem: string) => void) | undefined;
}

/**
 * Opens (creating and migrating as needed) the gateway's state database in `stateDir`.
 *
 * A new state directory is made 0700 and a new database 0600 (SQLite gives its `-wal` and `-shm`
 * files the database's mode): they hold token hashes, OAuth state and history. An existing
 * database readable by others is tightened to 0600 when this user owns it. The database must
 * pass SQLite's `quick_check`: a damaged one is refused with a {@link StoreError} naming the file
 * and the way out, unless `resetDamaged` is set.
 */
export function openDatabase(stateDir: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  const file = path.resolve(stateDir, DATABASE_FILE);
  prepareFiles(file);
  let opened = openChecked(file);
  if (opened.problem !== undefined) {
    if (!options.resetDamaged) {
      throw new StoreError(
        'damaged',
        `the state database ${file} is damaged (${opened.problem}). Restore it from a backup, or start ` +
          'the gateway once with --reset-damaged-state (GATEWAY_RESET_DAMAGED_STATE=true) to move it ' +
          'aside and begin with an empty one (its history, tokens and OAuth grants are then not used)'
      );
    }
    const movedTo = moveAside(file);
    options.onMovedAside?.(movedTo, opened.problem);
    prepareFiles(file);
    opened = openChecked(file);
    if (opened.problem !== undefined) {
      throw new StoreError('damaged', `the new state database ${file} is damaged too (${opened.problem})`);
    }
  }
  const { db } = opened;
  try {
    migrateDatabase(db);
  } catch (error) {
    db.close();
    throw new StoreError(
      'unavailable',
      `cannot bring the state database ${file} to the current schema: ${messageOf(error)}. ` +
        'Check that its disk has free space and the file is writable by this user',
      { cause: error }
    );
  }
  return db;
}

/**
 * Brings `db` to the current schema (for `openDatabase`, and for tests' in-memory databases), or
 * only as far as `version` migrations (tests of a migration start from the schema before it).
 */
export function migrateDatabase(db: DatabaseSync, version = MIGRATIONS.length): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  for (let next = row.user_version; next < version; next++) {
    inTransaction(db, () => {
      db.exec(MIGRATIONS[next]!);
      db.exec(`PRAGMA user_version = ${next + 1}`);
    });
  }
}

/**
 * Runs `work` in a transaction: committed when it returns, rolled back when it throws. The error
 * thrown is always the one that failed: SQLite rolls back by itself on some (a full disk), and a
 * ROLLBACK then would fail with "no transaction is active" and hide the real cause.
 */
export function inTransaction(db: DatabaseSync, work: () => void): void {
  db.exec('BEGIN');
  try {
    work();
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // the first error is the one to report
      }
    }
    throw error;
  }
}

/** Creates the state directory (0700) and the database file (0600) when missing. */
function prepareFiles(file: string): void {
  try {
    makeDirs(path.dirname(file), 0o700);
    if (!existsSync(file)) closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    throw new StoreError(
      'unavailable',
      `cannot create the state database ${file}: ${messageOf(error)}. ` +
        'Check that the state directory (--state-dir, STATE_DIR) is writable by this user',
      { cause: error }
    );
  }
  for (const each of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(each).mode & 0o077) !== 0) chmodSync(each, 0o600);
    } catch {
      // missing, or not ours to change: SQLite's own open reports what matters
    }
  }
}

/** The open database, or what SQLite found wrong with it. Other failures throw a StoreError. */
function openChecked(file: string): { db: DatabaseSync; problem?: undefined } | { problem: string } {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file);
    // busy_timeout first: another process (an admin command) may hold the lock for a moment.
    db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    const rows = db.prepare('PRAGMA quick_check(3)').all() as { quick_check: string }[];
    if (rows.length === 1 && rows[0]!.quick_check === 'ok') return { db };
    db.close();
    return { problem: rows.map(row => row.quick_check).join('; ') };
  } catch (error) {
    if (db?.isOpen) db.close();
    if (isDamage(error)) return { problem: messageOf(error) };
    throw new StoreError(
      'unavailable',
      `cannot open the state database ${file}: ${messageOf(error)}. ` +
        'Check that it and its directory are readable and writable by this user',
      { cause: error }
    );
  }
}

/** Renames the database and its WAL files to `<file>.damaged-<time>`; returns the new name. */
function moveAside(file: string): string {
  const target = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}
