import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileSchema } from '../../src/config/schema.js';
import { secretFileWarnings } from '../../src/config/secret-files.js';

describe('secretFileWarnings', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gateway-secrets-'));
    file = path.join(dir, 'servers.yaml');
    writeFileSync(file, '# read by no test: the warning is about its mode\n');
    chmodSync(file, 0o644);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const warningsFor = (env: Record<string, string>) =>
    secretFileWarnings(file, ConfigFileSchema.parse({ servers: { a: { command: ['x'], env } } }));

  it('warns of a file readable by others that writes a value out, a default included', () => {
    expect(warningsFor({ TOKEN: 'sk-123' })).toEqual([expect.stringContaining('chmod 600')]);
    expect(warningsFor({ TOKEN: '${TOKEN:-sk-123}' })).toEqual([expect.stringContaining('chmod 600')]);
  });

  it('does not warn when every value is a reference without a default', () => {
    expect(warningsFor({ TOKEN: '${TOKEN}', URL: '${HOST}${PATH_PART}', EMPTY: '${UNSET:-}' })).toEqual([]);
  });
});
