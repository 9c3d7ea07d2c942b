import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport, type LoggingLevel } from '@modelcontextprotocol/client';
import { fixtureConfig } from '../support/fixture-config.js';
import { CLI, FIXTURE_SERVER, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';
import { RAW_HEADERS, rawInitialize } from '../support/raw-session.js';

/**
 * 2025-era sessions survive a restart of the real daemon (SIGTERM, or kill -9, then a start on the
 * same port and state directory): the same SDK client object goes on calling without a new
 * `initialize`, with its log level and resource subscription, and its GET stream resumes.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A directory for one test, its state directory, and its config (made knowing the directory). */
function place(prefix: string, configOf: (dir: string) => string) {
  const dir = tempDir(prefix);
  return { dir, stateDir: path.join(dir, 'data'), text: configOf(dir) };
}

const URI = 'fixture://fx+static/hello';
const OWN_URI = 'fixture://static/hello';
const ALL: LoggingLevel[] = ['debug', 'info', 'warning', 'error'];

function config(dir: string): string {
  return `
defaults:
  idleTimeout: 60
servers:
  fixture:
    namespace: fx
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_LOGGING: "1"
      FIXTURE_LEGACY_ONLY: "1"
      FIXTURE_SUBSCRIPTIONS: "${path.join(dir, 'subscriptions.log')}"
`;
}

/** A gateway on `stateDir`, stopped (if still running) and removed after the test. */
async function start(
  text: string,
  stateDir: string,
  options: { port?: number } = {}
): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(text, { stateDir, ...options });
  cleanups.push(() => gateway.dispose());
  return gateway;
}

/** The gateway stopped with `signal`, and started again on the same port and state directory. */
async function restart(gateway: GatewayProcess, text: string, stateDir: string, signal: NodeJS.Signals) {
  const exit = await gateway.stop(signal);
  expect(signal === 'SIGKILL' ? exit.signal : exit.code).toBe(signal === 'SIGKILL' ? 'SIGKILL' : 0);
  return start(text, stateDir, { port: Number(gateway.url.port) });
}

/**
 * A 2025-era SDK client whose GET stream keeps trying to reconnect while the gateway is down (the
 * SDK gives up after 2 tries by default), and what it receives.
 */
async function legacyClient(url: URL, headers: Record<string, string> = {}) {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers },
    reconnectionOptions: {
      initialReconnectionDelay: 200,
      maxReconnectionDelay: 1_000,
      reconnectionDelayGrowFactor: 1,
      maxRetries: 60
    }
  });
  const client = new Client(
    { name: 'restore-test', version: '1.0.0' },
    { versionNegotiation: { mode: 'legacy' } }
  );
  const logs: string[] = [];
  const updates: string[] = [];
  client.setNotificationHandler('notifications/message', notification => {
    logs.push(String(notification.params.data));
  });
  client.setNotificationHandler('notifications/resources/updated', notification => {
    updates.push(notification.params.uri);
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport, logs, updates };
}

let pings = 0;

/** The HTTP status a raw `ping` on session `id` gets (each with a request id of its own). */
async function statusOf(url: URL, id: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...RAW_HEADERS, ...headers, 'mcp-session-id': id },
    body: JSON.stringify({ jsonrpc: '2.0', id: `ping-${++pings}`, method: 'ping' })
  });
  await response.text();
  return response.status;
}

describe.each<NodeJS.Signals>(['SIGTERM', 'SIGKILL'])('after a restart by %s', signal => {
  it('the same client goes on without a new initialize, with its log level, subscription and GET stream', async () => {
    const { stateDir, text } = place('session-restore-', config);
    const first = await start(text, stateDir);
    await first.discovered();
    const { client, transport, logs, updates } = await legacyClient(first.url);
    const sessionId = transport.sessionId;
    expect(sessionId).toBeDefined();

    await client.setLoggingLevel('warning');
    await client.subscribeResource({ uri: URI });
    // An update on the GET stream: the client now resumes that stream with an event id of this run.
    await client.callTool({ name: 'fx__touch', arguments: { uri: OWN_URI } });
    await waitUntil(() => updates.length === 1, 5_000);
    await client.callTool({ name: 'fx__log', arguments: { tag: 'before', levels: ALL } });
    await waitUntil(() => logs.length >= 2, 5_000);
    expect(logs).toEqual(['before warning', 'before error']);

    const second = await restart(first, text, stateDir, signal);
    expect(second.url.href).toBe(first.url.href);

    // The same client object, the same session: no initialize, no reconnect of ours. Requests that
    // arrive while the session is rebuilt (its subscription starts the server) wait for one rebuild.
    const [result, ...pings] = await Promise.all([
      client.callTool({ name: 'fx__log', arguments: { tag: 'after', levels: ALL } }),
      statusOf(second.url, sessionId!),
      statusOf(second.url, sessionId!)
    ]);
    expect(textOf(result)).toBe('logged after');
    expect(pings).toEqual([200, 200]);
    expect(transport.sessionId).toBe(sessionId);
    await waitUntil(() => logs.length >= 4, 5_000);
    expect(logs).toEqual(['before warning', 'before error', 'after warning', 'after error']);
    await second.waitForLog(
      line => line.msg === 'session restored from the store' && line.session === sessionId
    );
    expect(second.logs.filter(line => line.msg === 'session restored from the store')).toHaveLength(1);
    expect(second.logs.filter(line => line.msg === 'session opened')).toEqual([]);

    // The subscription was restored upstream: an update reaches the client on its resumed GET stream.
    await client.callTool({ name: 'fx__touch', arguments: { uri: OWN_URI } });
    await waitUntil(() => updates.length === 2, 15_000);
    expect(updates).toEqual([URI, URI]);
  });
});

describe('rebuilding a session', () => {
  it('is done once for requests that arrive together, which all wait for it, and subscribes again upstream', async () => {
    const { dir, stateDir, text } = place('session-restore-together-', config);
    const first = await start(text, stateDir);
    await first.discovered();
    const id = (await rawInitialize(first.url, 'together')).headers.get('mcp-session-id')!;
    // A subscription makes the rebuild slow: it starts the server to subscribe again upstream. It is
    // the session's last request before the crash: the change it made must be stored by then.
    const subscribed = await fetch(first.url, {
      method: 'POST',
      headers: { ...RAW_HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: URI } })
    });
    expect(await subscribed.text()).toContain('"result"');
    const second = await restart(first, text, stateDir, 'SIGKILL');
    const statuses = await Promise.all([1, 2, 3, 4].map(() => statusOf(second.url, id)));
    expect(statuses).toEqual([200, 200, 200, 200]);
    // The log arrives in order but late: once the DELETE's line is in, every rebuild's line is too.
    const deleted = await fetch(second.url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }
    });
    expect(deleted.status).toBe(200);
    await second.waitForLog(line => line.msg === 'session closed' && line.session === id);
    expect(second.logs.filter(line => line.msg === 'session restored from the store')).toHaveLength(1);
    // What the server was asked: by the first run, then by the rebuild; the DELETE ended it.
    const asked = () => readFileSync(path.join(dir, 'subscriptions.log'), 'utf8').trim().split('\n');
    await waitUntil(() => asked().length >= 3, 5_000).catch(() => undefined);
    expect(asked()).toEqual([`subscribe ${OWN_URI}`, `subscribe ${OWN_URI}`, `unsubscribe ${OWN_URI}`]);
  });
});

describe('sessions that must not come back', () => {
  it('a deleted session gets 404 after a restart; a live one is served', async () => {
    const { stateDir, text } = place('session-restore-deleted-', () => fixtureConfig());
    const first = await start(text, stateDir);
    const deleted = await legacyClient(first.url);
    const deletedId = deleted.transport.sessionId!;
    await deleted.transport.terminateSession();
    const live = (await rawInitialize(first.url, 'live')).headers.get('mcp-session-id')!;
    const second = await restart(first, text, stateDir, 'SIGKILL');
    expect(await statusOf(second.url, deletedId)).toBe(404);
    expect(await statusOf(second.url, live)).toBe(200);
    // Deleted after the restart: gone for good.
    const removed = await fetch(second.url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': live, 'mcp-protocol-version': '2025-11-25' }
    });
    expect(removed.status).toBe(200);
    const third = await restart(second, text, stateDir, 'SIGTERM');
    expect(await statusOf(third.url, live)).toBe(404);
  });

  it('a session that expired while the gateway was down gets 404', async () => {
    const { stateDir, text } = place('session-restore-expired-', () => fixtureConfig('sessionTimeout: 2'));
    const first = await start(text, stateDir);
    const id = (await rawInitialize(first.url, 'expiring')).headers.get('mcp-session-id')!;
    await first.stop('SIGKILL');
    await new Promise(resolve => setTimeout(resolve, 2_500));
    const second = await start(text, stateDir, { port: Number(first.url.port) });
    expect(await statusOf(second.url, id)).toBe(404);
  });

  it("another principal's session id is refused after a restart, and never served; its owner goes on", async () => {
    const { stateDir, text } = place('session-restore-principal-', () =>
      fixtureConfig('auth: { mode: token }')
    );
    const owner = createToken(stateDir, 'owner');
    const intruder = createToken(stateDir, 'intruder');
    const first = await start(text, stateDir);
    const { client, transport } = await legacyClient(first.url, { authorization: `Bearer ${owner}` });
    const sessionId = transport.sessionId!;
    const second = await restart(first, text, stateDir, 'SIGKILL');

    // First to present the id after the restart: the other principal. Refused, and not restored.
    const refused = await fetch(second.url, {
      method: 'POST',
      headers: { ...RAW_HEADERS, authorization: `Bearer ${intruder}`, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })
    });
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
    await second.waitForLog(
      line =>
        typeof line.msg === 'string' &&
        line.msg.startsWith('refused a stored session presented by a principal')
    );
    expect(second.logs.some(line => line.msg === 'session restored from the store')).toBe(false);

    // Its owner's client goes on; the other principal is still refused once it is live.
    const tools = await client.listTools();
    expect(tools.tools.map(tool => tool.name)).toContain('fixture__echo');
    expect(await statusOf(second.url, sessionId, { authorization: `Bearer ${intruder}` })).toBe(404);
  });
});

function createToken(stateDir: string, name: string): string {
  const result = spawnSync(
    process.execPath,
    [CLI, 'token', 'create', '--name', name, '--state-dir', stateDir],
    {
      encoding: 'utf8',
      timeout: 20_000
    }
  );
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n')[0]!;
}
