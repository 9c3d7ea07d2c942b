import { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { isBusy, isDamage, isFull, messageOf } from './sqlite-errors.js';
import { StoreError } from './store-error.js';
import { makeDirs } from '../files/make-dirs.js';

/** The file in the state directory whose lock the gateway serving from it holds. */
export const LOCK_FILE = 'gateway.lock.db';
/** The lock file of versions that judged a lock by its pid. */
const LEGACY_LOCK_FILE = 'gateway.lock';
/** Who holds the lock, written by the holder once it has it: for the message a second one gets. */
export const HOLDER_FILE = 'gateway.holder';

/** What the holder file says of the holder. */
interface Holder {
  readonly pid: number;
  /** os.hostname(): a container's own, whose pids mean nothing on other hosts. */
  readonly host: string;
  readonly startedAt: string;
}

/** A held state directory; {@link release} once the gateway has stopped. */
export interface StateLock {
  /** Gives the lock back and removes the holder file if it is still this process's. Idempotent. */
  release(): void;
  /** Set when the lock could not be taken for want of space: the gateway starts unlocked, saying so. */
  readonly unlocked?: string;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
/** How long a start waits for a contender that is between its two transactions. */
const BUSY_WAIT_MS = 300;

/**
 * Takes the state directory `stateDir` for this process, or throws a {@link StoreError} (code
 * `locked`) naming the process that holds it. Why: a gateway's containers are its by the state
 * directory, and a second gateway started on the same one would sweep the first one's running
 * containers as leftovers before finding its port taken.
 *
 * The lock is the kernel's: an exclusive SQLite transaction on `gateway.lock.db` (a POSIX record
 * lock), held open for the process's life. The kernel gives it to one process at a time, whatever
 * their pid namespaces (two containers sharing one volume), and takes it back when its holder dies
 * however it dies, so there is no stale lock to judge: no pid, boot or host check that a reboot, a
 * reused pid or a re-created container could fool. `gateway.holder` only tells who holds it.
 */
export function lockStateDirectory(stateDir: string): StateLock {
  const file = path.resolve(stateDir, LOCK_FILE);
  const holderFile = path.resolve(stateDir, HOLDER_FILE);
  let db: DatabaseSync;
  try {
    // 0700 as the database's own directory: the lock is taken first, so it may make the directory.
    makeDirs(path.dirname(file), 0o700);
    db = new DatabaseSync(file, { timeout: BUSY_WAIT_MS });
  } catch (error) {
    if (isNoSpace(error)) return startUnlocked(file, error);
    throw unavailable(file, error);
  }
  try {
    // SQLite opens a file it may not write read-only, and a read-only "exclusive" transaction
    // excludes nobody: refuse it instead (asked of the path: opening and closing a descriptor of
    // the file here would drop this process's lock on it).
    accessSync(file, constants.W_OK);
    // The first transaction gives the file a page once (an empty file cannot be locked on a full
    // disk; one with a page can, as the second writes nothing) and ends; the second is the lock,
    // never committed. Normal locking mode, so that a contender holds no shared lock while it waits
    // (two contenders each holding one would refuse each other).
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (since TEXT); COMMIT; BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if (isBusy(error)) throw heldError(path.dirname(file), holderOf(holderFile));
    if (isNoSpace(error)) return startUnlocked(file, error);
    if (isDamage(error)) {
      throw new StoreError(
        'unavailable',
        `the state directory's lock ${file} holds no lock data (${messageOf(error)}); no gateway can be using it: delete it and start again`,
        { cause: error }
      );
    }
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new StoreError(
        'unavailable',
        `the state directory's lock ${file} cannot be written by this user (uid ${process.getuid?.()}): make it and its directory this user's (chown), as the service's user owns them`,
        { cause: error }
      );
    }
    throw unavailable(file, error);
  }
  // An earlier version's lock file, which nothing reads any more.
  rmSync(path.resolve(stateDir, LEGACY_LOCK_FILE), { force: true });
  const mine: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  writeHolder(holderFile, mine);
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      const holder = holderOf(holderFile);
      if (holder?.pid === mine.pid && holder.startedAt === mine.startedAt)
        rmSync(holderFile, { force: true });
      db.close();
    }
  };
}

/** Writes the holder file whole (a reader never sees half of it); a failure only costs the message its details. */
function writeHolder(file: string, holder: Holder): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(holder)}\n`);
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
  }
}

function holderOf(file: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number'
      ? { pid: parsed.pid, host: String(parsed.host), startedAt: String(parsed.startedAt) }
      : undefined;
  } catch {
    return undefined;
  }
}

function heldError(dir: string, holder: Holder | undefined): StoreError {
  const who =
    holder === undefined
      ? 'one that has not said who it is yet'
      : `pid ${holder.pid} on host ${holder.host}, started ${holder.startedAt}`;
  return new StoreError(
    'locked',
    `the state directory ${dir} is in use by another mcp-gateway (${who}): stop it, or give this one another --state-dir (and --port)`
  );
}

function startUnlocked(file: string, error: unknown): StateLock {
  // A full disk must not stop a restart: the store then reports itself unready, and serving goes on.
  return { release: () => {}, unlocked: unavailable(file, error).message };
}

function isNoSpace(error: unknown): boolean {
  return NO_SPACE.has((error as { code?: string }).code ?? '') || isFull(error);
}

function unavailable(file: string, error: unknown): StoreError {
  return new StoreError(
    'unavailable',
    `the state directory's lock ${file} cannot be written (${messageOf(error)}): check the directory's permissions and free space`,
    { cause: error }
  );
}
