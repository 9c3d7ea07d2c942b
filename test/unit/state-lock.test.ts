import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOLDER_FILE, LOCK_FILE, lockStateDirectory } from '../../src/store/state-lock.js';
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

/**
 * Another process holding the lock of `dir` as a gateway does (SQLite's exclusive lock on the lock
 * file, for its whole life), having said it holds it; resolves once it does.
 */
async function holder(dir: string): Promise<ChildProcess> {
  const script = `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(process.argv[1], { timeout: 0 });
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    console.log('held');
    setInterval(() => {}, 60000);
  `;
  const child = spawn(process.execPath, ['-e', script, path.join(dir, LOCK_FILE)], {
    stdio: ['ignore', 'pipe', 'inherit']
  });
  children.push(child);
  await once(child.stdout, 'data');
  return child;
}

const holderIn = (dir: string) => JSON.parse(readFileSync(path.join(dir, HOLDER_FILE), 'utf8')) as unknown;

function refusalOf(dir: string): StoreError {
  try {
    lockStateDirectory(dir).release();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error('the lock was taken');
}

describe('the state directory lock', () => {
  it('is taken by the first, refused to a second while held, and free again once released', () => {
    const dir = stateDir();
    const lock = lockStateDirectory(dir);
    expect(holderIn(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    // The kernel's lock is per process: this one's second try would succeed, so the refusal is
    // shown by other processes (below); here, what release leaves.
    lock.release();
    lock.release();
    expect(existsSync(path.join(dir, HOLDER_FILE))).toBe(false);
    lockStateDirectory(dir).release();
  });

  it('is refused while another process holds it, naming the holder it wrote down', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    await holder(dir);
    writeFileSync(
      path.join(dir, HOLDER_FILE),
      JSON.stringify({ pid: 4242, host: 'container-b', startedAt: '2026-11-28T10:00:00.000Z' })
    );
    const refusal = refusalOf(dir);
    expect(refusal.code).toBe('locked');
    expect(refusal.message).toBe(
      `the state directory ${dir} is in use by another mcp-gateway (pid 4242 on host container-b, started 2026-11-28T10:00:00.000Z): stop it, or give this one another --state-dir (and --port)`
    );
    // The refused one leaves the holder's note alone.
    expect(holderIn(dir)).toMatchObject({ pid: 4242 });
  });

  it('is refused to a second even before the holder has written down who it is', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    await holder(dir);
    expect(refusalOf(dir).message).toMatch(
      /in use by another mcp-gateway \(one that has not said who it is yet\)/
    );
  });

  it('is free as soon as its holder dies, however it dies, whatever its note says', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    const child = await holder(dir);
    // The note of pid 1 of a container since re-created (another host name): nothing of it is
    // judged, so a re-created container starts, where a lock judged by pid and host refused it.
    writeFileSync(
      path.join(dir, HOLDER_FILE),
      JSON.stringify({ pid: 1, host: 'container-a', startedAt: '2026-11-28T10:00:00.000Z' })
    );
    expect(refusalOf(dir).code).toBe('locked');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = lockStateDirectory(dir);
    expect(holderIn(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();
  });

  it("removes an earlier version's lock file, which no longer means anything", () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'gateway.lock'), '{"pid":999999,"startedAt":"2026-11-27T10:00:00.000Z"}\n');
    const lock = lockStateDirectory(dir);
    expect(existsSync(path.join(dir, 'gateway.lock'))).toBe(false);
    lock.release();
  });

  it('does not remove a holder note that another process wrote since: release removes only its own', () => {
    const dir = stateDir();
    const lock = lockStateDirectory(dir);
    writeFileSync(
      path.join(dir, HOLDER_FILE),
      JSON.stringify({ pid: 999_999, host: 'h', startedAt: '2026-11-28T10:00:00.000Z' })
    );
    lock.release();
    expect(holderIn(dir)).toMatchObject({ pid: 999_999 });
  });

  it('makes the state directory as the database does: readable by its owner alone', () => {
    const dir = stateDir();
    lockStateDirectory(dir).release();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('says a lock file that holds no lock data is to be deleted, not that space or permissions lack', () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, LOCK_FILE), 'x'.repeat(4096));
    const refusal = refusalOf(dir);
    expect(refusal.code).toBe('unavailable');
    expect(refusal.message).toBe(
      `the state directory's lock ${path.join(dir, LOCK_FILE)} holds no lock data (file is not a database); no gateway can be using it: delete it and start again`
    );
  });

  it('says which file cannot be written when the directory cannot be made', () => {
    const dir = stateDir();
    writeFileSync(path.dirname(dir) + '/file', '');
    expect(() => lockStateDirectory(path.join(path.dirname(dir), 'file', 'data'))).toThrow(
      /^the state directory's lock .*\/file\/data\/gateway\.lock\.db cannot be written \(.*\): check the directory's permissions and free space$/
    );
  });
});
