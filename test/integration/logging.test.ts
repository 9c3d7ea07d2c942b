import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  LOG_LEVEL_META_KEY,
  SSEClientTransport,
  type LoggingLevel
} from '@modelcontextprotocol/client';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  textOf,
  waitUntil,
  type Era
} from '../support/gateway-process.js';

/**
 * Log messages through the real daemon, from a server behind it in each era (`modern`: the fixture
 * answering the 2026-07-28 probe; `legacy`: the same fixture speaking 2025 only) to SDK clients in
 * each era. The fixture's `log` tool sends one message per level asked, unfiltered, so whatever
 * filtering a client sees is the gateway's.
 */
const CONFIG = `
defaults:
  idleTimeout: 60
servers:
  modern:
    description: The fixture, 2026 era
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_LOGGING: "1"
  legacy:
    description: The fixture, 2025 era only
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_LOGGING: "1"
      FIXTURE_LEGACY_ONLY: "1"
`;

const ALL: LoggingLevel[] = ['debug', 'info', 'warning', 'error'];

let gateway: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

const cleanups: (() => void)[] = [];

afterAll(async () => {
  await Promise.all(clients.map(client => client.close().catch(() => undefined)));
  await gateway?.dispose();
  for (const cleanup of cleanups) cleanup();
});

/** A client of `era` and the data of every log message it receives, in order. */
async function logClient(era: Era, name: string): Promise<{ client: Client; logs: string[] }> {
  const client = await connect(gateway.url, era, name);
  clients.push(client);
  const logs: string[] = [];
  client.setNotificationHandler('notifications/message', notification => {
    logs.push(String(notification.params.data));
  });
  return { client, logs };
}

/**
 * Calls `server__log`: a 2025-era client at the level its session set, a 2026-era one at `level`
 * in the request's `_meta` (none: no level asked).
 */
function callLog(
  client: Client,
  server: string,
  args: { tag: string; levels: LoggingLevel[]; gapUntil?: string },
  level?: LoggingLevel
) {
  return client.callTool({
    name: `${server}__log`,
    arguments: args,
    ...(level ? { _meta: { [LOG_LEVEL_META_KEY]: level } } : {})
  });
}

describe.each(['modern', 'legacy'])('logs of a %s-era server', server => {
  it('reach a 2025-era session during its call, at or above the level it set, and no other session', async () => {
    const caller = await logClient('legacy', 'caller');
    const bystander = await logClient('legacy', 'bystander');
    await caller.client.setLoggingLevel('warning');
    await bystander.client.setLoggingLevel('debug');

    const result = await callLog(caller.client, server, { tag: 'a', levels: ALL });
    expect(textOf(result)).toBe('logged a');
    await waitUntil(() => caller.logs.length >= 2, 5_000);
    expect(caller.logs).toEqual(['a warning', 'a error']);
    expect(bystander.logs).toEqual([]);
  });

  it('reach a 2025-era session that set no level in full', async () => {
    const { client, logs } = await logClient('legacy', 'no-level');
    await callLog(client, server, { tag: 'b', levels: ALL });
    await waitUntil(() => logs.length >= 4, 5_000);
    expect(logs).toEqual(['b debug', 'b info', 'b warning', 'b error']);
  });

  it("travel on a 2026-era request's stream at or above its _meta logLevel, and not without one", async () => {
    const { client, logs } = await logClient('modern', 'modern-client');
    await callLog(client, server, { tag: 'c', levels: ALL }, 'info');
    expect(logs).toEqual(['c info', 'c warning', 'c error']);
    await callLog(client, server, { tag: 'd', levels: ALL });
    // A last moment for anything misrouted to arrive.
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(logs).toEqual(['c info', 'c warning', 'c error']);
  });

  it('go, while calls overlap, to every caller in flight at its own level (a stdio message names no request)', async () => {
    const slow = await logClient('legacy', 'overlap-slow');
    const quick = await logClient('modern', 'overlap-quick');
    const idle = await logClient('legacy', 'overlap-idle');
    await slow.client.setLoggingLevel('info');
    await idle.client.setLoggingLevel('debug');
    // The slow call sends its second message only once the quick call is done, however long that takes.
    const quickDone = path.join(mkdtempSync(path.join(tmpdir(), 'overlap-')), 'quick-done');
    cleanups.push(() => rmSync(path.dirname(quickDone), { recursive: true, force: true }));
    const long = callLog(slow.client, server, { tag: 'slow', levels: ['info', 'info'], gapUntil: quickDone });
    await waitUntil(() => slow.logs.length >= 1, 5_000);
    await callLog(quick.client, server, { tag: 'quick', levels: ['debug', 'error'] }, 'debug');
    writeFileSync(quickDone, 'x');
    await long;
    expect(quick.logs).toEqual(['quick debug', 'quick error']);
    // The quick call's messages reached the slow caller too, at its level (info): error, not debug.
    expect(slow.logs).toEqual(['slow info', 'quick error', 'slow info']);
    expect(idle.logs).toEqual([]);
  });
});

describe.each<Era>(['legacy', 'modern'])('logs during a prompt, for a %s-era client', era => {
  it('reach the caller like those of a call', async () => {
    const { client, logs } = await logClient(era, `prompt-${era}`);
    const got = await client.getPrompt({
      name: 'legacy__logged',
      ...(era === 'modern' ? { _meta: { [LOG_LEVEL_META_KEY]: 'info' } } : {})
    });
    expect(got.messages).toHaveLength(1);
    await waitUntil(() => logs.length >= 1, 5_000);
    expect(logs).toEqual(['prompt info']);
  });
});

describe('the level a 2026-era server is asked for', () => {
  it("is the caller's, in the request's _meta (the server's own filter then applies it)", async () => {
    const session = await logClient('legacy', 'sdk-session');
    await session.client.setLoggingLevel('warning');
    await session.client.callTool({ name: 'modern__log_sdk', arguments: { tag: 'e', levels: ALL } });
    const modern = await logClient('modern', 'sdk-modern');
    await modern.client.callTool({
      name: 'modern__log_sdk',
      arguments: { tag: 'f', levels: ALL },
      _meta: { [LOG_LEVEL_META_KEY]: 'error' }
    });
    await waitUntil(() => session.logs.length >= 2 && modern.logs.length >= 1, 5_000);
    expect(session.logs).toEqual(['e warning', 'e error']);
    expect(modern.logs).toEqual(['f error']);
  });
});

describe('unsolicited logs (sent while no request is in flight)', () => {
  it('reach every 2025-era session whose level admits them, and no 2026-era client', async () => {
    const info = await logClient('legacy', 'unsolicited-info');
    const error = await logClient('legacy', 'unsolicited-error');
    const none = await logClient('legacy', 'unsolicited-none');
    const modern = await logClient('modern', 'unsolicited-modern');
    // An old client on the 2024-11-05 HTTP+SSE transport: its event stream is its standing one.
    const old = new Client(
      { name: 'unsolicited-sse', version: '1.0.0' },
      { versionNegotiation: { mode: 'legacy' } }
    );
    clients.push(old);
    await old.connect(new SSEClientTransport(new URL('/sse', gateway.url)));
    const oldLogs: string[] = [];
    old.setNotificationHandler('notifications/message', notification => {
      oldLogs.push(String(notification.params.data));
    });
    await old.setLoggingLevel('warning');
    await info.client.setLoggingLevel('info');
    await error.client.setLoggingLevel('error');
    const result = await modern.client.callTool({
      name: 'legacy__log_later',
      arguments: { tag: 'later', level: 'warning', ms: 300 },
      _meta: { [LOG_LEVEL_META_KEY]: 'debug' }
    });
    expect(textOf(result)).toBe('scheduled');
    // Both streams that should get it have; then a last moment for anything misrouted to arrive.
    await waitUntil(() => info.logs.length >= 1 && oldLogs.length >= 1, 5_000);
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(info.logs).toEqual(['later']);
    expect(oldLogs).toEqual(['later']);
    expect(error.logs).toEqual([]);
    expect(none.logs).toEqual([]);
    expect(modern.logs).toEqual([]);
  });
});
