import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeWithBackup } from '../../src/files/write-with-backup.js';

const dir = mkdtempSync(path.join(tmpdir(), 'write-with-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeWithBackup', () => {
  it('creates a new file (and its folder) with the given mode, and no backup', () => {
    const file = path.join(dir, 'new', 'mcp.json');
    expect(writeWithBackup(file, '{}\n', 0o600)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe('{}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the old file as .bak and its permissions', () => {
    const file = path.join(dir, 'servers.yaml');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o640);
    expect(writeWithBackup(file, 'new\n', 0o600)).toBe(`${file}.bak`);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe('old\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('names the file when it cannot write, and leaves no temporary file', () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, '');
    expect(() => writeWithBackup(path.join(blocker, 'x.json'), '{}')).toThrow(
      new RegExp(`^cannot write ${blocker}/x\\.json \\(E[A-Z]+\\); nothing was changed there$`)
    );
    expect(readdirSync(dir).filter(name => name.endsWith('.tmp'))).toEqual([]);
  });
});
