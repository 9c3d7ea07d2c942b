import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, FIXTURE_SERVER, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';
import { canMount, fill, mountTmpfs, unmount } from '../support/tmpfs.js';
import { lockStateDirectory } from '../../src/store/state-lock.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function readyz(gateway: GatewayProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL('/readyz', gateway.url));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe.skipIf(!canMount)('the state directory on a full disk', () => {
  it('reports the store unready, logs the real error naming the file, keeps serving calls', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-fault-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const state = path.join(dir, 'state');
    // Room for a fresh database and its WAL, and little more.
    mountTmpfs(state, 1024);
    cleanups.push(() => unmount(state));
    const gateway = await GatewayProcess.start(
      `servers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`,
      { stateDir: state }
    );
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();
    expect((await readyz(gateway)).status).toBe(200);

    fill(state);
    const file = path.join(state, 'gateway.db');
    // The write check's answer stands for a second (an unauthenticated probe must not force a commit
    // each hit), so the 200 above may be repeated until it expires.
    await waitUntil(async () => (await readyz(gateway)).status === 503, 5_000);
    const unready = await readyz(gateway);
    expect(unready.status).toBe(503);
    expect(unready.body).toMatchObject({ ready: false, checks: { store: false } });
    expect(String((unready.body.problems as string[])[0])).toContain(
      `the state database ${file} cannot be written (database or disk is full)`
    );

    const client = await connect(gateway.url, 'legacy');
    cleanups.push(() => client.close());
    for (let call = 0; call < 20; call++) {
      const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 'x'.repeat(2000) } });
      expect(textOf(result)).toHaveLength(2000);
    }
    const failure = await gateway.waitForLog(line => String(line.msg).startsWith('writing history to'));
    expect(failure).toMatchObject({ file, err: 'database or disk is full' });
    expect(failure.msg).toMatch(/records were dropped. Free space on its disk/);
    expect(gateway.stderrText.join('\n')).not.toContain('cannot rollback');
    const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
    expect(metrics).toMatch(/^mcp_gateway_store_write_failures_total [1-9]/m);

    // Space again: ready again.
    rmSync(path.join(state, 'fill'));
    rmSync(path.join(state, 'fill-tail'), { force: true });
    await waitUntil(async () => (await readyz(gateway)).status === 200, 10_000);
  });

  it('holds the state directory lock on a full disk once it was taken there with room to spare', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-fault-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const state = path.join(dir, 'state');
    mountTmpfs(state, 256);
    cleanups.push(() => unmount(state));
    lockStateDirectory(state).release(); // a first start, with room
    fill(state);
    const lock = lockStateDirectory(state);
    cleanups.push(() => lock.release());
    expect(lock.unlocked).toBeUndefined();
    // Another process is refused: the lock is held, not skipped.
    const second = spawnSync(process.execPath, ['--input-type=module', '-e', CONTENDER, state], {
      encoding: 'utf8'
    });
    expect(second.stdout.trim()).toBe('locked');
  });
});

/** Tries the lock in dist/ on argv[1] and says `held` or the refusal's code. */
const CONTENDER = `
const { lockStateDirectory } = await import(${JSON.stringify(path.resolve('dist/store/state-lock.js'))});
try { lockStateDirectory(process.argv[1]).release(); console.log('held'); }
catch (error) { console.log(error.code); }
`;
