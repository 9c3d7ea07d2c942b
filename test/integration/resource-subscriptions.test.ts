import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { connect, FIXTURE_SERVER, GatewayProcess, waitUntil } from '../support/gateway-process.js';

/**
 * `resources/subscribe` and `notifications/resources/updated` through the real daemon: the
 * fixture server (2025 era, whose subscriptions are requests it can record) records each
 * subscription it gets, and its `touch` tool sends an update.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'subscriptions-'));
const LOG = path.join(dir, 'subscriptions.log');
const URI = 'fixture://fx+static/hello';
const OWN_URI = 'fixture://static/hello';

const CONFIG = `
defaults:
  idleTimeout: 60
servers:
  fixture:
    namespace: fx
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_SUBSCRIPTIONS: "${LOG}"
      FIXTURE_LEGACY_ONLY: "1"
  modern:
    namespace: md
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_SUBSCRIPTIONS: "${path.join(dir, 'modern.log')}"
`;

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** What the server was asked, one `subscribe <uri>` / `unsubscribe <uri>` a line. */
function upstreamLog(): string[] {
  try {
    return readFileSync(LOG, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Collects the URIs of the `notifications/resources/updated` a client receives. */
function updatesOf(client: Client): string[] {
  const uris: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', notification => {
    uris.push(notification.params.uri);
  });
  return uris;
}

async function touch(client: Client): Promise<void> {
  await client.callTool({ name: 'fx__touch', arguments: { uri: OWN_URI } });
}

/** A 2025-era session, and how to end it as a client that leaves properly does (DELETE, then close). */
async function session(name: string): Promise<{ client: Client; end: () => Promise<void> }> {
  const transport = new StreamableHTTPClientTransport(gateway.url);
  const client = new Client({ name, version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  await client.connect(transport);
  const end = async () => {
    if (transport.sessionId !== undefined) await transport.terminateSession().catch(() => undefined);
    await client.close();
  };
  return { client, end };
}

/** Waits long enough for an update that should not come to have come. */
const settle = () => new Promise(resolve => setTimeout(resolve, 300));

describe('resource subscriptions, 2025 era', () => {
  it('sends updates to subscribers only, until they unsubscribe or close', async () => {
    const first = await session('subscriber');
    const second = await session('bystander');
    const subscriber = first.client;
    const bystander = second.client;
    try {
      expect(subscriber.getServerCapabilities()?.resources?.subscribe).toBe(true);
      const got = updatesOf(subscriber);
      const seen = updatesOf(bystander);
      const before = upstreamLog().length;

      await subscriber.subscribeResource({ uri: URI });
      expect(upstreamLog().slice(before)).toEqual([`subscribe ${OWN_URI}`]);
      await touch(bystander);
      await waitUntil(() => got.length > 0, 5_000);
      expect(got).toEqual([URI]);
      await settle();
      expect(seen).toEqual([]);

      // A second subscriber shares the gateway's subscription; the first one out keeps it.
      await bystander.subscribeResource({ uri: URI });
      await subscriber.unsubscribeResource({ uri: URI });
      await touch(bystander);
      await waitUntil(() => seen.length > 0, 5_000);
      await settle();
      expect(got).toEqual([URI]);
      expect(upstreamLog().slice(before)).toEqual([`subscribe ${OWN_URI}`]);

      // The last subscriber's session closes: the gateway unsubscribes upstream.
      await second.end();
      await waitUntil(() => upstreamLog().slice(before).includes(`unsubscribe ${OWN_URI}`), 5_000);
    } finally {
      await first.end();
      await second.end();
    }
  });

  it('refuses a URI that routes to no server', async () => {
    const client = await connect(gateway.url, 'legacy');
    try {
      await expect(client.subscribeResource({ uri: 'fixture://nowhere+x' })).rejects.toThrow(/nowhere/);
    } finally {
      await client.close();
    }
  });
});

describe('resource subscriptions at a 2026-era server', () => {
  it('subscribes on a listen stream of its own and relays the updates', async () => {
    const first = await session('modern-subscriber');
    try {
      const got = updatesOf(first.client);
      await first.client.subscribeResource({ uri: 'fixture://md+static/hello' });
      await first.client.callTool({ name: 'md__touch', arguments: { uri: OWN_URI } });
      await waitUntil(() => got.length > 0, 5_000);
      expect(got).toEqual(['fixture://md+static/hello']);
    } finally {
      await first.end();
    }
  });
});

describe('resource subscriptions, 2026 era', () => {
  it('delivers updates on a listen stream that asked for the URI, and unsubscribes when it closes', async () => {
    const listener = await connect(gateway.url, 'modern', 'listener');
    const other = await connect(gateway.url, 'modern', 'other');
    try {
      const got = updatesOf(listener);
      const seen = updatesOf(other);
      const before = upstreamLog().length;
      // A URI that routes nowhere is left out of the stream's filter, not an error.
      const subscription = await listener.listen({ resourceSubscriptions: [URI, 'fixture://nowhere+x'] });
      const unrelated = await other.listen({ toolsListChanged: true });
      await waitUntil(() => upstreamLog().slice(before).includes(`subscribe ${OWN_URI}`), 5_000);

      await touch(other);
      await waitUntil(() => got.length > 0, 5_000);
      expect(got).toEqual([URI]);
      await settle();
      expect(seen).toEqual([]);

      await subscription.close();
      await unrelated.close();
      await waitUntil(() => upstreamLog().slice(before).includes(`unsubscribe ${OWN_URI}`), 5_000);
    } finally {
      await listener.close();
      await other.close();
    }
  });
});
