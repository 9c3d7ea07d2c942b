import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from './store-error.js';

/** The lock file in the state directory, held by the gateway that serves from it. */
export const LOCK_FILE = 'gateway.lock';

/** What a lock file says of its holder. */
interface Holder {
  readonly pid: number;
  readonly startedAt: string;
}

/** A held state directory; {@link release} once the gateway has stopped. */
export interface StateLock {
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
  /** Set when the lock could not be written for want of space: the gateway starts unlocked, saying so. */
  readonly unlocked?: string;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Takes the state directory `stateDir` for this process, or throws a {@link StoreError} naming the
 * process that holds it. Why: a gateway's containers are its by the state directory, and a second
 * gateway started on the same one (`npm start` run twice) would sweep the first one's running
 * containers as leftovers before finding its port taken. A lock whose holder has gone (killed, the
 * machine restarted, or this very pid in a fresh container) is taken over.
 */
export function lockStateDirectory(stateDir: string): StateLock {
  const file = path.resolve(stateDir, LOCK_FILE);
  const holder: Holder = { pid: process.pid, startedAt: new Date().toISOString() };
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (error) {
    throw unavailable(file, error);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(holder)}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (NO_SPACE.has(code)) {
        // A full disk must not stop a restart: the store then reports itself unready, and serving goes on.
        if (holderOf(file) === undefined) rmSync(file, { force: true });
        return { release: () => {}, unlocked: unavailable(file, error).message };
      }
      if (code !== 'EEXIST' || attempt > 0) throw unavailable(file, error);
    }
    const other = holderOf(file);
    if (other && isRunningGateway(other.pid)) {
      throw new StoreError(
        'unavailable',
        `the state directory ${path.dirname(file)} is in use by another mcp-gateway (pid ${other.pid}, started ${other.startedAt}): stop it, or give this one another --state-dir (and --port). If no gateway runs, delete ${file}`
      );
    }
    rmSync(file, { force: true }); // its holder has gone
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      if (holderOf(file)?.pid === process.pid) rmSync(file, { force: true });
    }
  };
}

function holderOf(file: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number'
      ? { pid: parsed.pid, startedAt: String(parsed.startedAt) }
      : undefined;
  } catch {
    return undefined; // unreadable or half written: nobody to wait for
  }
}

/**
 * Whether `pid` is another live Node.js process (a pid reused after a restart by something else is
 * not a gateway). This process's own pid is not: a container's gateway is pid 1 at every start.
 */
function isRunningGateway(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // alive, and no /proc to say what it is
  }
}

function unavailable(file: string, error: unknown): StoreError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError(
    'unavailable',
    `the state directory's lock ${file} cannot be written (${reason}): check the directory's permissions and free space`,
    { cause: error }
  );
}
