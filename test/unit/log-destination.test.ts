import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogDestination } from '../../src/log-destination.js';

const fds: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function flushed(destination: LogDestination): Promise<void> {
  return new Promise(resolve => destination.flush(resolve));
}

describe('LogDestination', () => {
  it('writes lines in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'log-destination-'));
    dirs.push(dir);
    const fd = openSync(path.join(dir, 'log'), 'a');
    fds.push(fd);
    const destination = new LogDestination(fd);
    for (let line = 0; line < 1000; line++) destination.write(`line ${line}\n`);
    await flushed(destination);
    const lines = readFileSync(path.join(dir, 'log'), 'utf8').trimEnd().split('\n');
    expect(lines).toEqual(Array.from({ length: 1000 }, (_, line) => `line ${line}`));
    expect(destination.dropped).toBe(0);
  });

  it('drops and counts what a full device refuses, without throwing', async () => {
    const fd = openSync('/dev/full', 'w'); // every write fails with ENOSPC
    fds.push(fd);
    const destination = new LogDestination(fd);
    for (let line = 0; line < 50; line++) expect(destination.write(`line ${line}\n`)).toBe(true);
    await flushed(destination);
    expect(destination.dropped).toBe(50);
    expect(() => destination.flushSync()).not.toThrow();
  });
});
