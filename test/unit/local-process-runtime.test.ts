import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { LocalProcessRuntime } from '../../src/runtime/local-process-runtime.js';
import { fakeSpec } from '../support/fake-runtime.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-local-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalProcessRuntime', () => {
  it('says that the working directory is missing, not the program, when cwd: is not there', async () => {
    const cwd = path.join(dir, 'no-such-dir');
    const spec = fakeSpec('alpha', { command: [process.execPath, '-e', ''], cwd });
    const started = new LocalProcessRuntime().start(spec, () => {}, new AbortController().signal);
    await expect(started).rejects.toBeInstanceOf(GatewayError);
    await expect(started).rejects.toMatchObject({
      code: 'start_failed',
      message: `server alpha: its working directory ${cwd} (cwd:) is not a directory`
    });
  });

  it('names the program when it is the program that cannot be run', async () => {
    const spec = fakeSpec('alpha', { command: ['definitely-not-installed-mcp'], cwd: dir });
    const started = new LocalProcessRuntime().start(spec, () => {}, new AbortController().signal);
    await expect(started).rejects.toMatchObject({
      code: 'start_failed',
      message:
        'server alpha: cannot run definitely-not-installed-mcp: spawn definitely-not-installed-mcp ENOENT'
    });
  });
});
