import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExpiry, runAdminCommand } from '../../src/admin-commands.js';

const stateDir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-admin-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const io = { out: () => {}, note: () => {}, stdin: new PassThrough() };

describe('admin commands', () => {
  it('reads --expires as a time from now, and refuses one past what a date can hold', () => {
    expect(parseExpiry('90d', 0).getTime()).toBe(90 * 86_400_000);
    expect(() => parseExpiry('99999999999d')).toThrow(
      '--expires 99999999999d is further than a date can reach'
    );
  });

  it('names the subcommands when a group is given none, or one it does not have', async () => {
    await expect(runAdminCommand(['token'], { stateDir }, io)).rejects.toThrow(
      'token needs a subcommand: token create --name NAME, list or revoke NAME_OR_ID'
    );
    await expect(runAdminCommand(['admin'], { stateDir }, io)).rejects.toThrow(
      'admin needs a subcommand: admin set-password'
    );
    await expect(runAdminCommand(['token', 'make'], { stateDir }, io)).rejects.toThrow(
      'unknown command: token make (token takes create --name NAME, list or revoke NAME_OR_ID)'
    );
  });
});
