import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockStateDirectory } from '../../src/store/state-lock.js';
import { StoreError } from '../../src/store/store-error.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'state-lock-'));
  dirs.push(dir);
  return path.join(dir, 'data'); // not made yet: the lock makes it, as the database would
}

/** A lock file as another process would have left it. */
function lockedBy(dir: string, pid: number): void {
  writeFileSync(
    path.join(dir, LOCK_FILE),
    `${JSON.stringify({ pid, startedAt: '2026-11-28T10:00:00.000Z', host: hostname(), id: String(pid) })}\n`
  );
}

async function running(command: string, args: string[]): Promise<number> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
}

describe('the state directory lock', () => {
  it('is taken by the first, refused to a second while held, and free again once released', () => {
    const dir = stateDir();
    const lock = lockStateDirectory(dir);
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    lockStateDirectory(dir).release();
  });

  it('is refused while another Node.js process holds it, naming the process and the way out', async () => {
    const dir = stateDir();
    lockStateDirectory(dir).release(); // makes the directory
    const pid = await running(process.execPath, ['-e', 'setInterval(() => {}, 60000)']);
    lockedBy(dir, pid);
    let refusal: unknown;
    try {
      lockStateDirectory(dir);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(StoreError);
    expect(refusal).toMatchObject({ code: 'locked' });
    expect((refusal as StoreError).message).toBe(
      `the state directory ${dir} is in use by another mcp-gateway (pid ${pid} on host ${hostname()}, started 2026-11-28T10:00:00.000Z; lock file ${path.join(dir, LOCK_FILE)}): stop it, or give this one another --state-dir (and --port). If no gateway runs, delete ${path.join(dir, LOCK_FILE)}`
    );
    // The refused one leaves the holder's file alone.
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid });
  });

  it('takes over a lock whose holder has gone, is this very pid, or is no Node.js process', async () => {
    const dir = stateDir();
    lockStateDirectory(dir).release();
    const ended = spawn(process.execPath, ['-e', '']);
    await once(ended, 'exit');
    const sleeper = await running('sleep', ['60']);
    for (const pid of [ended.pid!, process.pid, sleeper]) {
      lockedBy(dir, pid);
      const lock = lockStateDirectory(dir);
      expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
      lock.release();
    }
    writeFileSync(path.join(dir, LOCK_FILE), '{"pid":'); // half written
    lockStateDirectory(dir).release();
  });

  it('takes over a lock from an earlier boot of this host, even if its pid is a live Node.js process now', async () => {
    const dir = stateDir();
    lockStateDirectory(dir).release();
    const pid = await running(process.execPath, ['-e', 'setInterval(() => {}, 60000)']);
    writeFileSync(
      path.join(dir, LOCK_FILE),
      JSON.stringify({
        pid,
        startedAt: '2026-11-28T10:00:00.000Z',
        host: hostname(),
        boot: 'an-earlier-boot',
        id: 'x'
      })
    );
    const lock = lockStateDirectory(dir);
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    });
    lock.release();
  });

  it('holds a lock written on another host (its pids are not ours to check), naming that host and the way out', () => {
    const dir = stateDir();
    lockStateDirectory(dir).release();
    // pid 1 of another container: here, pid 1 is not this process, and would be judged by /proc.
    for (const pid of [process.pid, 999_999]) {
      writeFileSync(
        path.join(dir, LOCK_FILE),
        JSON.stringify({ pid, startedAt: '2026-11-28T10:00:00.000Z', host: 'container-b', id: 'y' })
      );
      const file = path.join(dir, LOCK_FILE);
      expect(() => lockStateDirectory(dir)).toThrow(
        `the state directory ${dir} is in use by another mcp-gateway (pid ${pid} on host container-b, started 2026-11-28T10:00:00.000Z; lock file ${file}): stop it, or give this one another --state-dir (and --port). This host (${hostname()}) cannot tell whether a process of another host or container is running: if container-b is gone, delete ${file}`
      );
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid, host: 'container-b' });
    }
  });

  it('takes over a stale lock whose taker was killed mid-way, leaving its break link', () => {
    const dir = stateDir();
    lockStateDirectory(dir).release();
    lockedBy(dir, 999_999);
    linkSync(path.join(dir, LOCK_FILE), path.join(dir, `${LOCK_FILE}.break-999999`));
    const lock = lockStateDirectory(dir);
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(readdirSync(dir).filter(name => name.startsWith(LOCK_FILE))).toEqual([]);
  });

  it('does not remove a lock that another process took since: release removes only its own', () => {
    const dir = stateDir();
    const lock = lockStateDirectory(dir);
    lockedBy(dir, 999_999);
    lock.release();
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: 999_999 });
  });

  it('says which file cannot be written when the directory cannot be made', () => {
    const dir = stateDir();
    writeFileSync(path.dirname(dir) + '/file', '');
    expect(() => lockStateDirectory(path.join(path.dirname(dir), 'file', 'data'))).toThrow(
      /^the state directory's lock .*\/file\/data\/gateway\.lock cannot be written \(.*\): check the directory's permissions and free space$/
    );
  });
});
