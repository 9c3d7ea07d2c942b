import { existsSync, mkdtempSync, openSync, closeSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVER, GatewayProcess } from '../support/gateway-process.js';

const CONFIG = `servers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`;
const PAGE = 4096;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Overwrites database page `page` (1-based) with garbage, leaving the header page intact. */
function damagePage(file: string, page: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(PAGE, 0xa5), 0, PAGE, (page - 1) * PAGE);
  } finally {
    closeSync(fd);
  }
}

describe('a damaged state database', () => {
  it('is refused naming the file and the flag; with the flag it is moved aside and the gateway starts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-fault-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const state = path.join(dir, 'state');
    const file = path.join(state, 'gateway.db');

    const first = await GatewayProcess.start(CONFIG, { stateDir: state });
    cleanups.push(() => first.dispose());
    await first.discovered();
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    // A clean stop checkpoints the WAL into the file, so the damage below is what a start reads.
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(statSync(file).size).toBeGreaterThan(3 * PAGE);
    damagePage(file, 3);

    const refused = GatewayProcess.start(CONFIG, { stateDir: state }).then(started => {
      cleanups.push(() => started.dispose()); // only if it wrongly started
      return started;
    });
    await expect(refused).rejects.toThrow(/exited \(78\)/);
    await expect(refused).rejects.toThrow(`the state database ${file} is damaged`);
    await expect(refused).rejects.toThrow('--reset-damaged-state');
    expect(existsSync(file)).toBe(true);

    const reset = await GatewayProcess.start(CONFIG, { stateDir: state, args: ['--reset-damaged-state'] });
    cleanups.push(() => reset.dispose());
    const moved = await reset.waitForLog(line => line.movedTo !== undefined);
    expect(moved).toMatchObject({ level: 40, file });
    expect(String(moved.movedTo)).toMatch(/gateway\.db\.damaged-/);
    expect(moved.msg).toContain(String(moved.movedTo));
    expect(existsSync(String(moved.movedTo))).toBe(true);
    expect((await fetch(new URL('/readyz', reset.url))).status).toBe(200);
    expect((await fetch(new URL('/api/sessions', reset.url))).status).toBe(200);
  });
});
