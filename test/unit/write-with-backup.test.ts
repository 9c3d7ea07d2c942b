import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeWithBackup } from '../../src/files/write-with-backup.js';

/** The mode of every file the code under test writes, seen just after it wrote it. */
const writtenModes = vi.hoisted(() => new Map<string, number>());
vi.mock('node:fs', async original => {
  const fs = await original<typeof import('node:fs')>();
  const writeFileSync: typeof fs.writeFileSync = (file, ...rest) => {
    fs.writeFileSync(file, ...rest);
    if (typeof file === 'string') writtenModes.set(path.basename(file), fs.statSync(file).mode & 0o777);
  };
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

const dir = mkdtempSync(path.join(tmpdir(), 'write-with-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeWithBackup', () => {
  it('creates a new file (and its folder) with the given mode, and no backup', () => {
    const file = path.join(dir, 'new', 'mcp.json');
    expect(writeWithBackup(file, '{}\n', { mode: 0o600 })).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe('{}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the old file as .bak and its permissions', () => {
    const file = path.join(dir, 'servers.yaml');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o640);
    expect(writeWithBackup(file, 'new\n', { mode: 0o600 })).toBe(`${file}.bak`);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe('old\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('narrows an existing file to its owner when the text is a secret, and never writes it wider', () => {
    const file = path.join(dir, 'client.json');
    writeFileSync(file, '{}\n');
    chmodSync(file, 0o644);
    writtenModes.clear();
    writeWithBackup(file, '{"token":"mgw_secret"}\n', { mode: 0o600, ownerOnly: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The temporary file held the token from its first byte: it was made owner-only, not 0644.
    const temporary = [...writtenModes.keys()].find(name => name.endsWith('.tmp'));
    expect(temporary).toBeDefined();
    expect(writtenModes.get(temporary!)).toBe(0o600);
  });

  it('makes the temporary file with the final mode', () => {
    const file = path.join(dir, 'private', 'new.json');
    writtenModes.clear();
    writeWithBackup(file, '{}\n', { mode: 0o600 });
    expect([...writtenModes.values()]).toEqual([0o600]);
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
