import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Server, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { openDatabase } from '../../src/store/database.js';
import { SessionStore, type SessionState, type StoredSession } from '../../src/store/session-store.js';
import { KeptSessions } from '../../src/sessions/kept-sessions.js';
import { BoundedEventStore } from '../../src/sessions/bounded-event-store.js';
import { RestorableTransport } from '../../src/sessions/restorable-transport.js';
import { silentLog } from '../support/fake-runtime.js';
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

describe('KeptSessions', () => {
  const server = {} as Server;

  function kept(state: SessionState = { logLevel: undefined, subscriptions: [] }, timeoutMs = 60_000) {
    const db = memoryDatabase();
    const store = new SessionStore(db);
    const writes = { setState: 0 };
    const setState = store.setState.bind(store);
    store.setState = (id, next) => {
      writes.setState++;
      setState(id, next);
    };
    const current = { state };
    const keeper = new KeptSessions(store, () => current.state, silentLog, timeoutMs);
    return { db, store, keeper, writes, current };
  }

  const INITIALIZE = {
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }
  };

  it('writes a state only when a request changed it', () => {
    const { store, keeper, writes, current } = kept();
    keeper.opened('s1', 'ip:127.0.0.1', INITIALIZE, Date.now());
    keeper.changed('s1', server);
    keeper.changed('s1', server);
    expect(writes.setState).toBe(0);
    current.state = { logLevel: 'error', subscriptions: ['u'] };
    keeper.changed('s1', server);
    keeper.changed('s1', server);
    expect(writes.setState).toBe(1);
    expect(store.get('s1')).toMatchObject({
      logLevel: 'error',
      subscriptions: ['u'],
      principal: 'ip:127.0.0.1'
    });
  });

  it('keeps a session released at shutdown, and deletes one that ended', () => {
    const { store, keeper } = kept();
    keeper.opened('shutdown', undefined, INITIALIZE, Date.now());
    keeper.opened('ended', undefined, INITIALIZE, Date.now());
    keeper.release('shutdown', 'keep');
    keeper.release('ended', 'delete');
    expect(store.get('shutdown')).toBeDefined();
    expect(store.get('ended')).toBeUndefined();
  });

  it('finds a stored session for its own principal only, and not once it expired', () => {
    const { store, keeper } = kept(undefined, 1_000);
    keeper.opened('mine', 'token:alice', INITIALIZE, Date.now());
    keeper.opened('old', 'token:alice', INITIALIZE, Date.now() - 5_000);
    expect(keeper.find('mine', 'token:mallory')).toBeUndefined();
    expect(keeper.find('mine', undefined)).toBeUndefined();
    expect(keeper.find('mine', 'token:alice')).toMatchObject({ id: 'mine', clientInfo: { name: 'c' } });
    expect(keeper.find('old', 'token:alice')).toBeUndefined();
    expect(store.get('old')).toBeUndefined();
  });

  it('never throws when the database cannot be written', () => {
    const { db, keeper } = kept();
    db.close();
    expect(() => {
      keeper.opened('s1', undefined, INITIALIZE, Date.now());
      keeper.seen('s1', Date.now());
      keeper.flushSeen();
      keeper.release('s1', 'delete');
    }).not.toThrow();
    expect(keeper.find('s1', undefined)).toBeUndefined();
  });
});
