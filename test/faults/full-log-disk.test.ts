import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURE_SERVER, connect, textOf, waitUntil } from '../support/gateway-process.js';
import { canMount, fill, freePort, listening, mountTmpfs, unmount } from '../support/tmpfs.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The value of an unlabelled counter in a Prometheus text exposition. */
function counter(text: string, name: string): number {
  const line = text.split('\n').find(candidate => candidate.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describe.skipIf(!canMount)('a log destination on a full disk', () => {
  it('keeps serving, counts the dropped lines, and exits cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-fault-'));
    const logs = path.join(dir, 'logs');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mountTmpfs(logs);
    cleanups.push(() => unmount(logs));
    const logFile = path.join(logs, 'gateway.log');
    const fd = openSync(logFile, 'a');
    cleanups.push(() => closeSync(fd));
    fill(logs);

    writeFileSync(
      path.join(dir, 'servers.yaml'),
      `servers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`
    );
    const port = await freePort();
    // stderr is the full file; the port is fixed because the "listening" line cannot get out.
    const config = path.join(dir, 'servers.yaml');
    const flags = ['--config', config, '--state-dir', path.join(dir, 'data'), '--port', String(port)];
    const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', ...flags, '--log-level', 'debug'], {
      stdio: ['ignore', 'ignore', fd]
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>(resolve =>
      child.once('exit', (code, signal) => resolve({ code, signal }))
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    await waitUntil(() => listening(port), 20_000);
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    const client = await connect(url, 'legacy');
    for (let call = 0; call < 20; call++) {
      const result = await client.callTool({ name: 'fixture__echo', arguments: { text: `call ${call}` } });
      expect(textOf(result)).toBe(`call ${call}`);
    }
    await client.close();

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // Every call logs at least one line, and none of them fit.
    expect(counter(metrics, 'mcp_gateway_log_lines_dropped_total')).toBeGreaterThanOrEqual(20);
    expect(statSync(logFile).size).toBeLessThan(4096);

    child.kill('SIGTERM');
    const exit = await Promise.race([
      exited,
      new Promise<'hung'>(resolve => setTimeout(() => resolve('hung'), 20_000))
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await listening(port)).toBe(false);
  });
});
