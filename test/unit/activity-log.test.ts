import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Request, Response } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiRouter, type ApiOptions } from '../../src/http/api/api-router.js';
import { HttpError } from '../../src/http/http-error.js';
import {
  ActivityLog,
  clientKeyOf,
  type ActivityLogOptions,
  type ClientIdentity,
  type RequestRecord,
  type SessionOpened
} from '../../src/store/activity-log.js';
import { ActivityQueries } from '../../src/store/activity-queries.js';
import { openDatabase } from '../../src/store/database.js';

/** A fixed instant the tests' times are offsets from. */
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

let dir: string;
let db: DatabaseSync;
let queries: ActivityQueries;
const logs: ActivityLog[] = [];
const extraConnections: DatabaseSync[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gateway-activity-'));
  db = openDatabase(dir);
  queries = new ActivityQueries(db);
});

afterEach(() => {
  for (const log of logs.splice(0)) log.close();
  for (const connection of extraConnections.splice(0)) if (connection.isOpen) connection.close();
  if (db.isOpen) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A log over the test database that never flushes on its own unless asked to. */
function newLog(options: ActivityLogOptions = {}, database: DatabaseSync = db): ActivityLog {
  const log = new ActivityLog(database, { flushIntervalMs: 3_600_000, ...options });
  logs.push(log);
  return log;
}

function identity(overrides: Partial<ClientIdentity> = {}): ClientIdentity {
  return {
    name: 'test-client',
    version: '1.2.3',
    protocolVersion: '2025-06-18',
    userAgent: 'test-agent/1.0',
    remoteAddress: '127.0.0.1',
    principal: 'alice',
    ...overrides
  };
}

function opened(id: string, at: number, overrides: Partial<SessionOpened> = {}): SessionOpened {
  return { ...identity(), id, capabilities: { sampling: {} }, at, ...overrides };
}

function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    sessionId: undefined,
    clientKey: undefined,
    serverId: 'alpha',
    tool: 'alpha__echo',
    startedAt: T0,
    durationMs: 12.5,
    outcome: 'ok',
    error: undefined,
    bytesIn: 10,
    bytesOut: 20,
    cold: false,
    ...overrides
  };
}

const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('ActivityLog queueing', () => {
  it('queues writes in memory and commits them only on flush', () => {
    const log = newLog();
    log.sessionOpened(opened('s1', T0));
    const key = log.clientSeen(identity(), T0);
    log.requestFinished(request({ clientKey: key }));

    expect(count('sessions')).toBe(0);
    expect(count('clients')).toBe(0);
    expect(count('requests')).toBe(0);
    expect(queries.requests({ limit: 10 })).toEqual([]);

    log.flush();

    expect(queries.sessions(10).map(s => s.id)).toEqual(['s1']);
    expect(queries.clients(10).map(c => c.key)).toEqual([key]);
    expect(queries.requests({ limit: 10 })).toHaveLength(1);
  });

  it('flushes on its own every flushIntervalMs', async () => {
    const log = newLog({ flushIntervalMs: 20 });
    log.requestFinished(request({ tool: 'alpha__timed' }));
    expect(count('requests')).toBe(0);
    await vi.waitFor(
      () => expect(queries.requests({ limit: 10 }).map(r => r.tool)).toEqual(['alpha__timed']),
      {
        timeout: 2_000,
        interval: 10
      }
    );
  });

  it('close() commits what is queued and stops the timer', async () => {
    const log = newLog({ flushIntervalMs: 10 });
    log.requestFinished(request({ tool: 'alpha__before_close' }));
    log.close();
    expect(queries.requests({ limit: 10 }).map(r => r.tool)).toEqual(['alpha__before_close']);

    log.requestFinished(request({ tool: 'alpha__after_close' }));
    await new Promise(resolve => setTimeout(resolve, 80));
    expect(queries.requests({ limit: 10 }).map(r => r.tool)).toEqual(['alpha__before_close']);
  });
});

describe('ActivityLog: one flush commits sessions, clients and requests', () => {
  it('records each kind with the fields the queries return', () => {
    const log = newLog();
    log.sessionOpened(
      opened('s-open', T0, { capabilities: { roots: { listChanged: true } }, principal: undefined })
    );
    log.sessionSeen('s-open', T0 + 5_000);
    log.sessionOpened(opened('s-closed', T0 + 1_000));
    log.sessionClosed('s-closed', 'deleted', T0 + 2_000);

    const client = identity({ name: 'modern', version: '2.0.0', principal: 'bob' });
    const key1 = log.clientSeen(client, T0 + 1_000);
    const key2 = log.clientSeen({ ...client, protocolVersion: '2026-01-26' }, T0 + 3_000);
    expect(key1).toBe(key2);
    expect(key1).toBe(clientKeyOf({ principal: 'bob', name: 'modern', version: '2.0.0' }));

    log.requestFinished(
      request({ sessionId: 's-open', tool: 'alpha__echo', startedAt: T0 + 100, bytesIn: 7, bytesOut: 99 })
    );
    log.requestFinished(
      request({
        clientKey: key1,
        serverId: undefined,
        tool: 'nope__missing',
        startedAt: T0 + 200,
        durationMs: 0.25,
        outcome: 'protocol_error',
        error: 'Unknown tool: nope__missing',
        bytesIn: 2,
        bytesOut: 0,
        cold: false
      })
    );
    log.requestFinished(
      request({ clientKey: key1, startedAt: T0 + 300, durationMs: 1500, cold: true, outcome: 'tool_error' })
    );
    log.flush();

    expect(queries.session('s-open')).toEqual({
      id: 's-open',
      clientName: 'test-client',
      clientVersion: '1.2.3',
      protocolVersion: '2025-06-18',
      capabilities: { roots: { listChanged: true } },
      userAgent: 'test-agent/1.0',
      remoteAddress: '127.0.0.1',
      principal: null,
      openedAt: iso(T0),
      lastSeenAt: iso(T0 + 5_000),
      closedAt: null,
      closeReason: null
    });
    expect(queries.session('s-closed')).toMatchObject({
      principal: 'alice',
      openedAt: iso(T0 + 1_000),
      closedAt: iso(T0 + 2_000),
      closeReason: 'deleted'
    });
    expect(queries.session('no-such-session')).toBeUndefined();

    const clients = queries.clients(10);
    expect(clients).toHaveLength(1);
    expect(clients[0]).toMatchObject({
      key: key1,
      principal: 'bob',
      clientName: 'modern',
      clientVersion: '2.0.0',
      protocolVersion: '2026-01-26',
      userAgent: 'test-agent/1.0',
      remoteAddress: '127.0.0.1',
      lastSeenAt: iso(T0 + 3_000),
      requests: 2
    });

    const requests = queries.requests({ limit: 10 });
    expect(requests.map(r => r.startedAt)).toEqual([iso(T0 + 300), iso(T0 + 200), iso(T0 + 100)]);
    const [cold, unknown, inSession] = requests;
    expect(inSession).toEqual({
      id: expect.any(Number),
      sessionId: 's-open',
      clientKey: null,
      profile: null,
      server: 'alpha',
      tool: 'alpha__echo',
      startedAt: iso(T0 + 100),
      durationMs: 12.5,
      outcome: 'ok',
      error: null,
      bytesIn: 7,
      bytesOut: 99,
      coldStart: false
    });
    expect(unknown).toMatchObject({
      sessionId: null,
      clientKey: key1,
      server: null,
      tool: 'nope__missing',
      durationMs: 0.25,
      outcome: 'protocol_error',
      error: 'Unknown tool: nope__missing',
      bytesIn: 2,
      bytesOut: 0,
      coldStart: false
    });
    expect(cold).toMatchObject({ clientKey: key1, outcome: 'tool_error', durationMs: 1500, coldStart: true });
  });

  it("keeps a client's first request time as first_seen when its requests share a batch", () => {
    const log = newLog();
    const key = log.clientSeen(identity(), T0 + 1_000);
    log.clientSeen(identity(), T0 + 2_000);
    log.flush();

    expect(queries.clients(10)).toEqual([
      expect.objectContaining({
        key,
        requests: 2,
        firstSeenAt: iso(T0 + 1_000),
        lastSeenAt: iso(T0 + 2_000)
      })
    ]);
  });

  it('adds to a client row across flushes, keeping first_seen and moving last_seen', () => {
    const log = newLog();
    const key = log.clientSeen(identity(), T0);
    log.flush();
    log.clientSeen(identity({ protocolVersion: '2026-01-26', remoteAddress: '10.0.0.9' }), T0 + 60_000);
    log.flush();

    expect(queries.clients(10)).toEqual([
      expect.objectContaining({
        key,
        requests: 2,
        firstSeenAt: iso(T0),
        lastSeenAt: iso(T0 + 60_000),
        protocolVersion: '2026-01-26',
        remoteAddress: '10.0.0.9'
      })
    ]);
  });

  it('keeps clients that differ in principal, name or version apart', () => {
    const log = newLog();
    const keys = new Set([
      log.clientSeen(identity(), T0),
      log.clientSeen(identity({ principal: 'mallory' }), T0),
      log.clientSeen(identity({ name: 'other' }), T0),
      log.clientSeen(identity({ version: '9.9.9' }), T0),
      log.clientSeen(identity({ userAgent: 'different-agent' }), T0)
    ]);
    log.flush();
    expect(keys.size).toBe(4);
    expect(queries.clients(10)).toHaveLength(4);
    expect(queries.clients(10).find(c => c.key === clientKeyOf(identity()))?.requests).toBe(2);
  });

  it('commits a batch all or nothing', () => {
    const failures: unknown[] = [];
    const log = newLog({ onWriteFailure: error => failures.push(error) });
    log.sessionOpened(opened('s-doomed', T0));
    log.requestFinished(request({ tool: null as unknown as string }));
    log.flush();

    expect(failures).toHaveLength(1);
    expect(count('sessions')).toBe(0);
    expect(count('requests')).toBe(0);
  });
});

describe('ActivityLog session updates', () => {
  it('only moves last_seen forward across flushes', () => {
    const log = newLog();
    log.sessionOpened(opened('s1', T0));
    log.flush();
    log.sessionSeen('s1', T0 + 10_000);
    log.flush();
    expect(queries.session('s1')?.lastSeenAt).toBe(iso(T0 + 10_000));

    log.sessionSeen('s1', T0 + 5_000);
    log.flush();
    expect(queries.session('s1')?.lastSeenAt).toBe(iso(T0 + 10_000));
    expect(queries.session('s1')?.openedAt).toBe(iso(T0));
  });

  it('keeps the latest heartbeat when heartbeats reach one batch out of order', () => {
    const log = newLog();
    log.sessionOpened(opened('s1', T0));
    log.flush();
    log.sessionSeen('s1', T0 + 10_000);
    log.sessionSeen('s1', T0 + 5_000);
    log.flush();
    expect(queries.session('s1')?.lastSeenAt).toBe(iso(T0 + 10_000));
  });

  it('ignores a heartbeat for a session it never recorded', () => {
    const log = newLog();
    log.sessionSeen('ghost', T0);
    log.flush();
    expect(count('sessions')).toBe(0);
  });

  it('sets closed_at and the reason once: a later close does not overwrite them', () => {
    const log = newLog();
    log.sessionOpened(opened('s1', T0));
    log.sessionClosed('s1', 'deleted', T0 + 1_000);
    log.flush();
    log.sessionClosed('s1', 'shutdown', T0 + 9_000);
    log.flush();
    expect(queries.session('s1')).toMatchObject({ closedAt: iso(T0 + 1_000), closeReason: 'deleted' });

    log.sessionOpened(opened('s2', T0));
    log.flush();
    log.sessionClosed('s2', 'expired', T0 + 2_000);
    log.sessionClosed('s2', 'closed', T0 + 3_000);
    log.flush();
    expect(queries.session('s2')).toMatchObject({ closedAt: iso(T0 + 2_000), closeReason: 'expired' });
  });
});

describe('ActivityQueries.sessions', () => {
  beforeEach(() => {
    const log = newLog();
    // Closed sessions seen more recently than the open ones, to show open ones still come first.
    log.sessionOpened(opened('open-old', T0));
    log.sessionOpened(opened('open-new', T0 + 1_000));
    log.sessionOpened(opened('closed-old', T0 + 5_000));
    log.sessionOpened(opened('closed-new', T0 + 6_000));
    log.sessionSeen('closed-old', T0 + 7_000);
    log.sessionSeen('closed-new', T0 + 8_000);
    log.sessionClosed('closed-old', 'expired', T0 + 9_000);
    log.sessionClosed('closed-new', 'deleted', T0 + 9_000);
    log.flush();
  });

  it('orders open sessions first, then the most recently seen', () => {
    expect(queries.sessions(10).map(s => s.id)).toEqual(['open-new', 'open-old', 'closed-new', 'closed-old']);
    expect(queries.sessions(10, 'all').map(s => s.id)).toEqual([
      'open-new',
      'open-old',
      'closed-new',
      'closed-old'
    ]);
  });

  it('filters by state and honours the limit', () => {
    expect(queries.sessions(10, 'open').map(s => s.id)).toEqual(['open-new', 'open-old']);
    expect(queries.sessions(10, 'closed').map(s => s.id)).toEqual(['closed-new', 'closed-old']);
    expect(queries.sessions(3).map(s => s.id)).toEqual(['open-new', 'open-old', 'closed-new']);
    expect(queries.sessions(1, 'closed').map(s => s.id)).toEqual(['closed-new']);
  });
});

describe('ActivityQueries.requests', () => {
  const rows: RequestRecord[] = [
    request({ serverId: 'alpha', tool: 'alpha__echo', outcome: 'ok', sessionId: 's1', startedAt: T0 }),
    request({
      serverId: 'alpha',
      tool: 'alpha__fail',
      outcome: 'tool_error',
      sessionId: 's1',
      startedAt: T0 + 1
    }),
    request({ serverId: 'beta', tool: 'beta__echo', outcome: 'ok', sessionId: 's2', startedAt: T0 + 2 }),
    request({ serverId: 'beta', tool: 'beta__slow', outcome: 'timeout', clientKey: 'k', startedAt: T0 + 3 }),
    request({
      serverId: 'alpha',
      tool: 'alpha__echo',
      outcome: 'cancelled',
      sessionId: 's2',
      startedAt: T0 + 4
    }),
    request({ serverId: undefined, tool: 'x__y', outcome: 'protocol_error', startedAt: T0 + 5 })
  ];
  let ids: number[];

  beforeEach(() => {
    const log = newLog();
    for (const row of rows) log.requestFinished(row);
    log.flush();
    ids = queries
      .requests({ limit: 100 })
      .map(r => r.id)
      .reverse();
  });

  /** Indices into `rows` of the requests returned, newest first. */
  const indices = (result: { id: number }[]) => result.map(r => ids.indexOf(r.id));

  it('returns every request newest first, with increasing ids in insertion order', () => {
    expect(ids).toHaveLength(rows.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(indices(queries.requests({ limit: 100 }))).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('filters by server, tool, outcome, session and since', () => {
    expect(indices(queries.requests({ server: 'alpha', limit: 100 }))).toEqual([4, 1, 0]);
    expect(indices(queries.requests({ tool: 'alpha__echo', limit: 100 }))).toEqual([4, 0]);
    expect(indices(queries.requests({ outcome: 'ok', limit: 100 }))).toEqual([2, 0]);
    expect(indices(queries.requests({ outcome: 'timeout', limit: 100 }))).toEqual([3]);
    expect(indices(queries.requests({ session: 's2', limit: 100 }))).toEqual([4, 2]);
    expect(indices(queries.requests({ since: iso(T0 + 3), limit: 100 }))).toEqual([5, 4, 3]);
    expect(indices(queries.requests({ server: 'alpha', session: 's1', outcome: 'ok', limit: 100 }))).toEqual([
      0
    ]);
    expect(queries.requests({ server: 'gamma', limit: 100 })).toEqual([]);
  });

  it('paginates with before: ids strictly smaller, newest first', () => {
    const page1 = queries.requests({ limit: 2 });
    expect(indices(page1)).toEqual([5, 4]);
    const page2 = queries.requests({ limit: 2, before: page1[1]!.id });
    expect(indices(page2)).toEqual([3, 2]);
    const page3 = queries.requests({ limit: 2, before: page2[1]!.id });
    expect(indices(page3)).toEqual([1, 0]);
    expect(queries.requests({ limit: 2, before: page3[1]!.id })).toEqual([]);

    expect(indices(queries.requests({ limit: 100, before: ids[3]! }))).toEqual([2, 1, 0]);
    expect(indices(queries.requests({ limit: 100, before: ids[3]!, server: 'alpha' }))).toEqual([1, 0]);
  });
});

describe('GET /api/requests since', () => {
  /** The route's handler, called directly with a stand-in request and response (no server). */
  function getRequests(query: Record<string, string>): { requests: { tool: string }[] } {
    const log = newLog();
    const router = createApiRouter({
      upstreams: [],
      catalog: {},
      queries,
      flushHistory: () => log.flush(),
      events: {},
      onCall: () => {},
      version: '0.0.0-test'
    } as unknown as ApiOptions);
    type Handler = (req: Request, res: Response, next: () => void) => void;
    const layer = (
      router.stack as unknown as {
        route?: { path: string; methods: Record<string, boolean>; stack: { handle: Handler }[] };
      }[]
    ).find(l => l.route?.path === '/requests' && l.route.methods.get);
    let body: unknown;
    const res = { json: (value: unknown) => (body = value) } as unknown as Response;
    layer!.route!.stack[0]!.handle({ query, params: {} } as unknown as Request, res, () => {});
    return body as { requests: { tool: string }[] };
  }

  beforeEach(() => {
    const log = newLog();
    log.requestFinished(request({ tool: 'before', startedAt: Date.parse('2026-01-01T00:00:00.000Z') - 1 }));
    log.requestFinished(request({ tool: 'exactly', startedAt: Date.parse('2026-01-01T00:00:00.000Z') }));
    log.requestFinished(
      request({ tool: 'one-hour-later', startedAt: Date.parse('2026-01-01T01:00:00.000Z') })
    );
    log.flush();
  });

  const tools = (since: string) => getRequests({ since }).requests.map(r => r.tool);

  it('includes requests at or after a UTC time with milliseconds', () => {
    expect(tools('2026-01-01T00:00:00.000Z')).toEqual(['one-hour-later', 'exactly']);
    expect(tools('2026-01-01T00:00:00.001Z')).toEqual(['one-hour-later']);
  });

  // The route accepts any ISO 8601 date-time with seconds and an offset; it must filter by instant.
  it('treats a time without milliseconds as the same instant', () => {
    expect(tools('2026-01-01T00:00:00Z')).toEqual(['one-hour-later', 'exactly']);
  });

  it('treats a time with a +02:00 offset as the same instant', () => {
    expect(tools('2026-01-01T02:00:00+02:00')).toEqual(['one-hour-later', 'exactly']);
  });

  it('refuses a since that is not a date-time with a 400 naming it', () => {
    let thrown: unknown;
    try {
      getRequests({ since: 'yesterday' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 400, message: expect.stringContaining('"since"') });
  });
});

describe('ActivityLog.prune', () => {
  it('deletes old and excess requests, old closed sessions and stale clients; returns requests removed', () => {
    const now = T0 + 100 * DAY;
    const log = newLog();
    // Requests: 2 older than 30 days, then 5 recent ones.
    log.requestFinished(request({ tool: 'old-1', startedAt: now - 40 * DAY }));
    log.requestFinished(request({ tool: 'old-2', startedAt: now - 31 * DAY }));
    for (let i = 1; i <= 5; i++)
      log.requestFinished(request({ tool: `recent-${i}`, startedAt: now - 5 * DAY + i }));
    // Sessions: closed long ago, closed recently, and open since long ago.
    log.sessionOpened(opened('closed-old', now - 50 * DAY));
    log.sessionClosed('closed-old', 'expired', now - 45 * DAY);
    log.sessionOpened(opened('closed-recent', now - 50 * DAY));
    log.sessionClosed('closed-recent', 'deleted', now - DAY);
    log.sessionOpened(opened('open-old', now - 50 * DAY));
    log.clientSeen(identity({ name: 'stale' }), now - 40 * DAY);
    log.clientSeen(identity({ name: 'fresh' }), now - DAY);
    log.flush();

    const removed = log.prune(30, 3, now);

    expect(removed).toBe(4);
    expect(queries.requests({ limit: 100 }).map(r => r.tool)).toEqual(['recent-5', 'recent-4', 'recent-3']);
    expect(
      queries
        .sessions(100)
        .map(s => s.id)
        .sort()
    ).toEqual(['closed-recent', 'open-old']);
    expect(queries.clients(100).map(c => c.clientName)).toEqual(['fresh']);
  });

  it('removes nothing when everything is recent and within maxRequests', () => {
    const log = newLog();
    for (let i = 0; i < 3; i++) log.requestFinished(request({ startedAt: T0 + i }));
    log.flush();
    expect(log.prune(30, 3, T0 + DAY)).toBe(0);
    expect(count('requests')).toBe(3);
    expect(log.prune(30, 10, T0 + DAY)).toBe(0);
    expect(count('requests')).toBe(3);
  });

  it('keeps the newest maxRequests by id', () => {
    const log = newLog();
    for (let i = 0; i < 10; i++) log.requestFinished(request({ tool: `t${i}`, startedAt: T0 }));
    log.flush();
    expect(log.prune(30, 4, T0)).toBe(6);
    expect(queries.requests({ limit: 100 }).map(r => r.tool)).toEqual(['t9', 't8', 't7', 't6']);
  });
});

describe('ActivityLog write failures', () => {
  it('never throws from flush on a closed database: reports once, drops the batch, keeps accepting', () => {
    const failures: unknown[] = [];
    const log = newLog({ onWriteFailure: error => failures.push(error) });
    log.sessionOpened(opened('s1', T0));
    log.requestFinished(request());
    db.close();

    expect(() => log.flush()).not.toThrow();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(Error);

    // The batch went: nothing is left to retry.
    log.flush();
    expect(failures).toHaveLength(1);

    // New records are still accepted, and the next flush tries (and reports) again.
    expect(() => {
      log.requestFinished(request());
      log.sessionSeen('s1', T0 + 1);
      log.clientSeen(identity(), T0 + 1);
    }).not.toThrow();
    expect(() => log.flush()).not.toThrow();
    expect(failures).toHaveLength(2);
    expect(() => log.close()).not.toThrow();
  });

  it('reports the real error of a flush on a full database, with the records it dropped', () => {
    const failures: { error: unknown; dropped: number }[] = [];
    const log = newLog({ onWriteFailure: (error, dropped) => failures.push({ error, dropped }) });
    // SQLite rolls the transaction back by itself on SQLITE_FULL, as on a full disk.
    const { page_count } = db.prepare('PRAGMA page_count').get() as { page_count: number };
    db.exec(`PRAGMA max_page_count = ${page_count}`);
    for (let i = 0; i < 500; i++) log.requestFinished(request({ tool: `t${i}`, error: 'x'.repeat(500) }));
    log.flush();

    expect(failures).toHaveLength(1);
    expect(String(failures[0]!.error)).toMatch(/database or disk is full/);
    expect(failures[0]!.dropped).toBe(500);
    expect(db.isTransaction).toBe(false);
  });

  it('drops a batch that failed on a locked database and writes later ones once it is free', () => {
    db.exec('PRAGMA busy_timeout = 0');
    const failures: unknown[] = [];
    const log = newLog({ onWriteFailure: error => failures.push(error) });
    const other = new DatabaseSync(path.join(dir, 'gateway.db'));
    extraConnections.push(other);

    other.exec('BEGIN IMMEDIATE');
    log.requestFinished(request({ tool: 'while-locked' }));
    log.sessionOpened(opened('s-locked', T0));
    log.flush();
    other.exec('ROLLBACK');

    expect(failures).toHaveLength(1);
    expect(db.isTransaction).toBe(false);

    log.requestFinished(request({ tool: 'after-unlock' }));
    log.flush();
    expect(failures).toHaveLength(1);
    expect(queries.requests({ limit: 10 }).map(r => r.tool)).toEqual(['after-unlock']);
    expect(count('sessions')).toBe(0);
  });

  it('bounds queued requests: of 60,000 unflushed records only the newest 50,000 are written', () => {
    const log = newLog();
    for (let i = 0; i < 60_000; i++) log.requestFinished(request({ tool: `t${i}`, startedAt: T0 + i }));
    log.flush();

    expect(count('requests')).toBe(50_000);
    expect(queries.requests({ limit: 1 })[0]?.tool).toBe('t59999');
    const first = db.prepare('SELECT tool FROM requests ORDER BY id ASC LIMIT 1').get() as { tool: string };
    expect(first.tool).toBe('t10000');
  });
});

describe('ActivityQueries.writeProblem', () => {
  it('is undefined for a normal database', () => {
    expect(queries.writeProblem()).toBeUndefined();
    // It leaves no transaction behind.
    expect(db.isTransaction).toBe(false);
    const log = newLog();
    log.requestFinished(request());
    log.flush();
    expect(count('requests')).toBe(1);
  });

  it('names the failure for a read-only connection', () => {
    const readOnly = new DatabaseSync(path.join(dir, 'gateway.db'), { readOnly: true });
    extraConnections.push(readOnly);
    const readOnlyQueries = new ActivityQueries(readOnly);
    // A write through that connection really fails...
    expect(() =>
      readOnly.exec("INSERT INTO clients (key, first_seen_at, last_seen_at) VALUES ('k', 'a', 'b')")
    ).toThrow(/readonly/);
    // ...so the readiness check must say so.
    expect(readOnlyQueries.writeProblem()).toMatch(/readonly/);
    expect(readOnly.isTransaction).toBe(false);
  });

  it('commits at most one write a second, however often it is asked', () => {
    let now = T0;
    const clocked = new ActivityQueries(db, () => now);
    const changes = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const probeAt = () => (db.prepare('SELECT at FROM write_probe WHERE id = 1').get() as { at: string }).at;
    const before = changes();
    expect(clocked.writeProblem()).toBeUndefined();
    expect(changes()).toBe(before + 1);
    for (let i = 0; i < 100; i++) {
      now = T0 + i * 9;
      expect(clocked.writeProblem()).toBeUndefined();
    }
    expect(changes()).toBe(before + 1);
    expect(probeAt()).toBe(iso(T0));
    now = T0 + 1_000;
    expect(clocked.writeProblem()).toBeUndefined();
    expect(changes()).toBe(before + 2);
    expect(probeAt()).toBe(iso(T0 + 1_000));
  });
});
