import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Server, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { openDatabase } from '../../src/store/database.js';
import { SessionStore, type StoredSession } from '../../src/store/session-store.js';
import { BoundedEventStore } from '../../src/sessions/bounded-event-store.js';
import { RestorableTransport } from '../../src/sessions/restorable-transport.js';
import { memoryDatabase } from '../support/memory-database.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function session(id: string, overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id,
    principal: 'token:alice',
    clientInfo: { name: 'client', version: '1.2.3' },
    capabilities: { roots: { listChanged: true } },
    protocolVersion: '2025-11-25',
    logLevel: undefined,
    subscriptions: [],
    createdAt: T0,
    lastSeenAt: T0,
    ...overrides
  };
}

describe('SessionStore', () => {
  it('keeps what a session needs to be rebuilt, across a reopening of the database', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'session-store-'));
    try {
      const db = openDatabase(dir);
      new SessionStore(db).save(session('s1'));
      db.close();
      const reopened = openDatabase(dir);
      expect(new SessionStore(reopened).get('s1')).toEqual(session('s1'));
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records a changed state, and an anonymous principal as none', () => {
    const store = new SessionStore(memoryDatabase());
    store.save(session('s1', { principal: undefined }));
    store.setState('s1', { logLevel: 'warning', subscriptions: ['fixture://fx+a', 'fixture://fx+b'] });
    expect(store.get('s1')).toEqual(
      session('s1', {
        principal: undefined,
        logLevel: 'warning',
        subscriptions: ['fixture://fx+a', 'fixture://fx+b']
      })
    );
    store.setState('s1', { logLevel: undefined, subscriptions: [] });
    expect(store.get('s1')).toEqual(session('s1', { principal: undefined }));
  });

  it('moves last-seen times forward in one batch, never back', () => {
    const store = new SessionStore(memoryDatabase());
    store.save(session('a'));
    store.save(session('b', { lastSeenAt: T0 + 5_000 }));
    store.touch(
      new Map([
        ['a', T0 + 1_000],
        ['b', T0 + 2_000],
        ['gone', T0]
      ])
    );
    expect(store.get('a')?.lastSeenAt).toBe(T0 + 1_000);
    expect(store.get('b')?.lastSeenAt).toBe(T0 + 5_000);
    expect(store.get('gone')).toBeUndefined();
  });

  it('deletes one session, and those last seen before a cutoff', () => {
    const store = new SessionStore(memoryDatabase());
    store.save(session('old', { lastSeenAt: T0 - 10_000 }));
    store.save(session('recent', { lastSeenAt: T0 }));
    store.save(session('deleted'));
    store.delete('deleted');
    expect(store.get('deleted')).toBeUndefined();
    expect(store.deleteSeenBefore(T0 - 1)).toBe(1);
    expect(store.get('old')).toBeUndefined();
    expect(store.get('recent')).toBeDefined();
  });
});

describe('BoundedEventStore of a restored session', () => {
  const note = (n: number): JSONRPCMessage => ({
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { n }
  });

  it('resumes the GET stream from an event of an earlier run with everything it holds of that stream', async () => {
    const before = new BoundedEventStore(undefined, undefined, { run: 'aaaa0001' });
    const lastSeen = await before.storeEvent('_GET_stream', note(1));
    const restored = new BoundedEventStore(undefined, undefined, { run: 'bbbb0002', restored: true });
    const first = await restored.storeEvent('_GET_stream', note(2));
    await restored.storeEvent('post-stream', note(99));
    await restored.storeEvent('_GET_stream', note(3));
    expect(await restored.getStreamIdForEventId(lastSeen)).toBe('_GET_stream');
    const sent: unknown[] = [];
    const stream = await restored.replayEventsAfter(lastSeen, {
      send: (id, message) => {
        sent.push([id, (message as unknown as { params: { n: number } }).params.n]);
        return Promise.resolve();
      }
    });
    expect(stream).toBe('_GET_stream');
    expect(sent).toEqual([
      [first, 2],
      ['_GET_stream/bbbb0002-3', 3]
    ]);
  });

  it('knows no earlier run in a store that was not restored, nor a POST stream of an earlier run', async () => {
    const earlier = '_GET_stream/aaaa0001-1';
    const fresh = new BoundedEventStore(undefined, undefined, { run: 'bbbb0002' });
    await fresh.storeEvent('_GET_stream', note(1));
    expect(await fresh.getStreamIdForEventId(earlier)).toBeUndefined();
    const restored = new BoundedEventStore(undefined, undefined, { run: 'bbbb0002', restored: true });
    expect(await restored.getStreamIdForEventId('post-stream/aaaa0001-1')).toBeUndefined();
    expect(await restored.getStreamIdForEventId('_GET_stream/bbbb0002-7')).toBeUndefined();
  });
});

describe('RestorableTransport', () => {
  it('replays an initialize under a given session id, after which requests on that id are served', async () => {
    const server = new Server({ name: 'test', version: '1' }, { capabilities: { logging: {} } });
    const transport = new RestorableTransport({ sessionIdGenerator: () => 'stored-id' });
    await server.connect(transport);
    const initialized = await transport.replay({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: { sampling: {} },
        clientInfo: { name: 'returning', version: '9' }
      }
    });
    expect(initialized).toMatchObject({ id: 1, result: { protocolVersion: '2025-06-18' } });
    expect(transport.sessionId).toBe('stored-id');
    expect(server.getClientVersion()).toEqual({ name: 'returning', version: '9' });
    expect(server.getClientCapabilities()).toEqual({ sampling: {} });
    const pong = await transport.replay(
      { jsonrpc: '2.0', id: 2, method: 'ping' },
      { protocolVersion: '2025-06-18' }
    );
    expect(pong).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    // A second initialize on an initialized session is refused, as the SDK refuses it from a client.
    await expect(
      transport.replay({
        jsonrpc: '2.0',
        id: 3,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
      })
    ).rejects.toThrow(/refused a replayed initialize/);
    await server.close();
  });
});
