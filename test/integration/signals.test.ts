import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  ROOT,
  textOf,
  waitUntil
} from '../support/gateway-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function serversYaml(serverMarker: string): string {
  return `servers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${serverMarker}"]\n`;
}

/** Starts the fixture server through the gateway and returns the server's pid. */
async function startServer(url: URL): Promise<number> {
  const client = await connect(url, 'legacy');
  try {
    return Number(textOf(await client.callTool({ name: 'fixture__pid', arguments: {} })));
  } finally {
    await client.close();
  }
}

/** Resolves with the first JSON log line of `child` (stdout or stderr) that `match`es. */
function logLine(child: ChildProcess, match: (line: Record<string, unknown>) => boolean, timeoutMs: number) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`no matching log line within ${timeoutMs} ms:\n${text}`)),
      timeoutMs
    );
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (match(parsed)) {
          clearTimeout(timer);
          resolve(parsed);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', code => reject(new Error(`exited (${code}) before the log line:\n${text}`)));
  });
}

describe('signals', () => {
  it('SIGTERM to `npm start` stops the gateway and its servers: no orphan, the port closed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-npm-start-'));
    const config = path.join(dir, 'servers.yaml');
    const serverMarker = marker();
    writeFileSync(config, serversYaml(serverMarker));
    const npm = spawn(
      'npm',
      ['start', '--silent', '--', '--config', config, '--state-dir', path.join(dir, 'data'), '--port', '0'],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    const exited = new Promise<number | null>(resolve => npm.once('exit', code => resolve(code)));
    cleanups.push(() => {
      // Whatever the outcome, nothing of this test outlives it.
      for (const pid of [...processesWith(config), ...processesWith(serverMarker)])
        process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    // start.mjs builds first when dist/ is older than src/.
    const listening = await logLine(npm, line => line.msg === 'gateway listening', 120_000);
    const url = new URL(String(listening.url));
    const serverPid = await startServer(url);
    expect(processesWith(config).filter(pid => pid !== npm.pid).length).toBeGreaterThan(0);
    expect(processesWith(serverMarker)).toEqual([serverPid]);

    process.kill(npm.pid!, 'SIGTERM');
    await exited;
    // Processes are found by their command lines (zombies not counted): the gateway's names the
    // config file, the server's its marker.
    await waitUntil(
      () => processesWith(config).length === 0 && processesWith(serverMarker).length === 0,
      15_000
    );
    await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
  });

  it('SIGHUP shuts the gateway down cleanly (until the config can be reloaded): exit 0, servers stopped', async () => {
    const serverMarker = marker();
    const gateway = await GatewayProcess.start(serversYaml(serverMarker));
    cleanups.push(async () => {
      await gateway.dispose();
      for (const pid of processesWith(serverMarker)) process.kill(pid, 'SIGKILL');
    });
    expect(processesWith(serverMarker)).toEqual([await startServer(gateway.url)]);

    expect(await gateway.stop('SIGHUP')).toEqual({ code: 0, signal: null });
    expect(gateway.logs.map(line => line.msg)).toEqual(
      expect.arrayContaining([
        'SIGHUP: reloading the config is not supported yet; shutting down cleanly',
        'stopped'
      ])
    );
    expect(processesWith(serverMarker)).toEqual([]);
  });
});
