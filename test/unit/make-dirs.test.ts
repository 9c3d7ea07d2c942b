import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../src/files/make-dirs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-make-dirs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('makeDirs', () => {
  it('makes a directory and its missing parents, each with the mode given, and leaves one there alone', () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    makeDirs(deep, 0o700);
    for (const each of [path.join(dir, 'a'), path.join(dir, 'a', 'b'), deep]) {
      expect(statSync(each).isDirectory()).toBe(true);
      expect(statSync(each).mode & 0o777).toBe(0o700);
    }
    expect(() => makeDirs(deep)).not.toThrow();
  });

  it('fails, rather than spinning forever as mkdirSync(…, { recursive: true }) does, under /proc', () => {
    // Node.js's recursive mkdir never returns here; a hang would fail this test by its timeout.
    expect(() => makeDirs('/proc/no-such-dir/state')).toThrow(/ENOENT|EACCES|EPERM/);
  });

  it('fails when a parent is a file', () => {
    expect(() => makeDirs(path.join(__filename, 'sub'))).toThrow(/ENOTDIR|EEXIST/);
  });
});
