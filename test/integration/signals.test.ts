import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

function serversYaml(serverMarker: string, markerDir?: string): string {
  const env = markerDir ? `    env: { FIXTURE_MARKER_DIR: "${markerDir}" }\n` : '';
  return `servers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${serverMarker}"]\n${env}`;
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

/** `npm start` on a fixture server, in its own process group (as a terminal would run it), once listening. */
async function npmStart() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-npm-start-'));
  const config = path.join(dir, 'servers.yaml');
  const serverMarker = marker();
  // Where the fixture's slow calls say they started (the whole directory goes at the end).
  const markers = path.join(dir, 'markers');
  mkdirSync(markers);
  writeFileSync(config, serversYaml(serverMarker, markers));
  const npm = spawn(
    'npm',
    ['start', '--silent', '--', '--config', config, '--state-dir', path.join(dir, 'data'), '--port', '0'],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let text = '';
  npm.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  npm.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<number | null>(resolve => npm.once('exit', code => resolve(code)));
  cleanups.push(() => {
    // Whatever the outcome, nothing of this test outlives it.
    for (const pid of [...processesWith(config), ...processesWith(serverMarker)])
      process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  // start.mjs builds first when dist/ is older than src/.
  const listening = await logLine(npm, line => line.msg === 'gateway listening', 120_000);
  return {
    npm,
    exited,
    url: new URL(String(listening.url)),
    config,
    serverMarker,
    markers,
    output: () => text
  };
}

describe('signals', () => {
  it('SIGTERM to `npm start` stops the gateway and its servers: no orphan, the port closed', async () => {
    const { npm, exited, url, config, serverMarker, output } = await npmStart();
    const serverPid = await startServer(url);
    expect(processesWith(config).filter(pid => pid !== npm.pid).length).toBeGreaterThan(0);
    // The instance started for discovery at startup may still be on its way out.
    await waitUntil(() => processesWith(serverMarker).join() === String(serverPid), 5_000);

    process.kill(npm.pid!, 'SIGTERM');
    await exited;
    // Processes are found by their command lines (zombies not counted): the gateway's names the
    // config file, the server's its marker.
    await waitUntil(
      () => processesWith(config).length === 0 && processesWith(serverMarker).length === 0,
      15_000
    );
    await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
    expect(output()).toContain('"msg":"stopped"');
  });

  it('Ctrl-C on `npm start` (SIGINT to its process group, and from npm again) shuts down cleanly', async () => {
    const { npm, exited, url, config, serverMarker, markers, output } = await npmStart();
    await startServer(url);
    // A call in flight holds the shutdown in its drain, so the second signal surely finds it running.
    const client = await connect(url, 'legacy');
    cleanups.push(() => client.close());
    // Long enough to outlast both signals on a loaded machine, counted from when it reached the server.
    const call = client.callTool({ name: 'fixture__slow', arguments: { ms: 3_000, tag: 'ctrl-c' } });
    await waitUntil(() => existsSync(path.join(markers, 'started-ctrl-c')), 10_000);

    // What a terminal does: the signal goes to the whole foreground group (npm and the gateway),
    // and npm forwards its copy to the gateway a moment later, which the second kill makes sure of
    // (two signals that arrive together may be delivered as one).
    process.kill(-npm.pid!, 'SIGINT');
    await waitUntil(() => output().includes('"msg":"signal received"'), 5_000);
    process.kill(npm.pid!, 'SIGINT');
    expect(textOf(await call)).toBe('slept 3000');
    expect(await exited).toBe(0);
    await waitUntil(
      () => processesWith(config).length === 0 && processesWith(serverMarker).length === 0,
      15_000
    );
    expect(output()).toContain('"msg":"stopped"');
    expect(output()).not.toContain('exiting now');
  });

  it('SIGHUP reloads the config rather than stopping: the gateway and its running server go on', async () => {
    const serverMarker = marker();
    const gateway = await GatewayProcess.start(serversYaml(serverMarker));
    cleanups.push(async () => {
      await gateway.dispose();
      for (const pid of processesWith(serverMarker)) process.kill(pid, 'SIGKILL');
    });
    // The instance startup discovery ran may still be on its way out: wait until the call's is the only one.
    const serverPid = await startServer(gateway.url);
    await waitUntil(() => processesWith(serverMarker).join() === String(serverPid), 5_000);

    gateway.child.kill('SIGHUP');
    await gateway.waitForLog(line => line.msg === 'config reloaded' && line.trigger === 'signal');
    expect(gateway.child.exitCode).toBeNull();
    expect(processesWith(serverMarker)).toEqual([serverPid]);

    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(processesWith(serverMarker)).toEqual([]);
  });
});
