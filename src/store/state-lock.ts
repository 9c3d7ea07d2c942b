import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StoreError } from './store-error.js';

/** The lock file in the state directory, held by the gateway that serves from it. */
export const LOCK_FILE = 'gateway.lock';

/** What a lock file says of its holder. Written whole before it appears, never changed after. */
interface Holder {
  readonly pid: number;
  readonly startedAt: string;
  /** os.hostname(): a container has its own, and its own pids. Absent in locks of older versions. */
  readonly host?: string;
  /** The kernel's boot id, when /proc has it: a lock from another boot is stale whatever its pid. */
  readonly boot?: string;
  /** Unique to this lock: tells it from a later lock with the same pid and start time. */
  readonly id?: string;
}

/** A held state directory; {@link release} once the gateway has stopped. */
export interface StateLock {
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
  /** Set when the lock could not be written for want of space: the gateway starts unlocked, saying so. */
  readonly unlocked?: string;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
/** Rounds of link / judge / take over before giving up: each lost round means another process won. */
const ATTEMPTS = 50;

/**
 * Takes the state directory `stateDir` for this process, or throws a {@link StoreError} (code
 * `locked`) naming the process that holds it. Why: a gateway's containers are its by the state
 * directory, and a second gateway started on the same one would sweep the first one's running
 * containers as leftovers before finding its port taken.
 *
 * Atomic: the lock is written whole to a file of its own and hard-linked into place, so it appears
 * complete or not at all, and of several processes linking at once exactly one succeeds. A stale
 * lock (see {@link isStale}) is removed only by the one process that wins the hard link of it to
 * `gateway.lock.break-<its id>`; that process checks the link is still that lock (same id) before
 * removing it, and then links its own like anyone else. A later lock has another id, so a slow
 * contender that judged an earlier lock stale never removes a live one.
 */
export function lockStateDirectory(stateDir: string): StateLock {
  const file = path.resolve(stateDir, LOCK_FILE);
  const mine: Holder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    host: hostname(),
    ...bootId(),
    id: randomUUID()
  };
  const temp = `${file}.${mine.id}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
  } catch (error) {
    removeQuietly(temp);
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // A full disk must not stop a restart: the store then reports itself unready, and serving goes on.
    if (NO_SPACE.has(code)) return { release: () => {}, unlocked: unavailable(file, error).message };
    throw unavailable(file, error);
  }
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        linkSync(temp, file);
        return heldBy(file, mine.id!);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (NO_SPACE.has(code)) return { release: () => {}, unlocked: unavailable(file, error).message };
        if (code !== 'EEXIST') throw unavailable(file, error);
      }
      const other = holderOf(file);
      if (other === 'gone') continue; // removed since: link again
      if (other !== 'unreadable' && !isStale(other)) throw held(file, other);
      breakStale(file, other === 'unreadable' ? undefined : other, attempt);
    }
    throw unavailable(file, new Error(`${ATTEMPTS} rounds lost to other processes taking it`));
  } finally {
    rmSync(temp, { force: true });
  }
}

function heldBy(file: string, id: string): StateLock {
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      const now = holderOf(file);
      if (typeof now === 'object' && now.id === id) rmSync(file, { force: true });
    }
  };
}

/**
 * Removes the stale lock `stale` (undefined: one that is no lock) if this process wins the right to.
 * A taker holds the break link for three system calls; one still there after half the rounds
 * (over 100 ms) was left by a taker killed in between, and is removed so that the lock is not
 * stuck. Only then could two takers overlap: a kill in that instant, then two more at once.
 */
function breakStale(file: string, stale: Holder | undefined, attempt: number): void {
  const breaker = `${file}.break-${stale?.id ?? `${stale?.pid ?? 'unreadable'}-${stale?.startedAt ?? ''}`}`;
  try {
    linkSync(file, breaker);
  } catch {
    // Another process is taking over this very lock (or it has gone): judge again.
    if (attempt >= ATTEMPTS / 2) removeQuietly(breaker);
    sleep(5);
    return;
  }
  try {
    const linked = holderOf(breaker);
    const same =
      typeof linked === 'object' ? stale !== undefined && linked.id === stale.id : stale === undefined;
    if (same) rmSync(file, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

function holderOf(file: string): Holder | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unreadable';
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (typeof parsed.pid !== 'number') return 'unreadable';
    return {
      pid: parsed.pid,
      startedAt: String(parsed.startedAt),
      ...(typeof parsed.host === 'string' && { host: parsed.host }),
      ...(typeof parsed.boot === 'string' && { boot: parsed.boot }),
      ...(typeof parsed.id === 'string' && { id: parsed.id })
    };
  } catch {
    return 'unreadable'; // garbage, or a half-written lock of an older version: nobody to wait for
  }
}

/**
 * Whether the lock's holder has certainly gone. A lock written on another host (another machine,
 * or another container, with pids of its own) cannot be checked by pid and is held: taking it over
 * could let two gateways sweep each other's containers. A lock from an earlier boot of this host is
 * stale whatever its pid. Otherwise the pid says: gone, this very pid (a container's gateway has
 * the same pid at every start), or no Node.js process are stale.
 */
function isStale(holder: Holder): boolean {
  if (holder.host !== undefined && holder.host !== hostname()) return false;
  const boot = bootId().boot;
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return true;
  return !isRunningGateway(holder.pid);
}

function bootId(): { boot?: string } {
  try {
    return { boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() };
  } catch {
    return {};
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

function held(file: string, holder: Holder): StoreError {
  const dir = path.dirname(file);
  const where = holder.host === undefined ? '' : ` on host ${holder.host}`;
  const other = holder.host !== undefined && holder.host !== hostname();
  return new StoreError(
    'locked',
    `the state directory ${dir} is in use by another mcp-gateway (pid ${holder.pid}${where}, started ${holder.startedAt}; lock file ${file}): stop it, or give this one another --state-dir (and --port). ` +
      (other
        ? `This host (${hostname()}) cannot tell whether a process of another host or container is running: if ${holder.host} is gone, delete ${file}`
        : `If no gateway runs, delete ${file}`)
  );
}

function unavailable(file: string, error: unknown): StoreError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError(
    'unavailable',
    `the state directory's lock ${file} cannot be written (${reason}): check the directory's permissions and free space`,
    { cause: error }
  );
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // its directory is not there to hold it
  }
}

/** Blocks for `ms`: a lost takeover round waits for the winner to finish hers. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
