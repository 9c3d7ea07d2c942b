import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { BoundedEventStore } from '../../src/sessions/bounded-event-store.js';
import { EventBudget } from '../../src/sessions/event-budget.js';

function note(n: number, padding = ''): JSONRPCMessage {
  return { jsonrpc: '2.0', method: 'notifications/message', params: { n, padding } };
}

async function replay(store: BoundedEventStore, after: string) {
  const sent: { id: string; n: unknown }[] = [];
  const stream = await store.replayEventsAfter(after, {
    send: (id, message) => {
      sent.push({ id, n: (message as { params?: { n?: unknown } }).params?.n });
      return Promise.resolve();
    }
  });
  return { stream, sent };
}

describe('BoundedEventStore', () => {
  it('replays the events of one stream after the given id, and names the stream', async () => {
    const store = new BoundedEventStore();
    const first = await store.storeEvent('a', note(1));
    await store.storeEvent('b', note(99));
    const second = await store.storeEvent('a', note(2));
    await store.storeEvent('a', note(3));
    expect(await store.getStreamIdForEventId(first)).toBe('a');
    const { stream, sent } = await replay(store, first);
    expect(stream).toBe('a');
    expect(sent.map(event => event.n)).toEqual([2, 3]);
    expect(sent[0]!.id).toBe(second);
  });

  it('drops the oldest events past the per-stream count; their ids are no longer known', async () => {
    const store = new BoundedEventStore({
      eventsPerStream: 3,
      bytesPerStream: 1e9,
      streams: 10,
      bytesPerSession: 1e9
    });
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await store.storeEvent('s', note(n)));
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    await expect(replay(store, ids[1]!)).rejects.toThrow(/no longer held/);
    expect((await replay(store, ids[2]!)).sent.map(event => event.n)).toEqual([4, 5]);
  });

  it('drops the oldest events past the per-stream bytes, but always keeps the newest', async () => {
    const store = new BoundedEventStore({
      eventsPerStream: 100,
      bytesPerStream: 250,
      streams: 10,
      bytesPerSession: 1e9
    });
    const small = await store.storeEvent('s', note(1));
    const big = await store.storeEvent('s', note(2, 'x'.repeat(500)));
    expect(await store.getStreamIdForEventId(small)).toBeUndefined();
    expect(await store.getStreamIdForEventId(big)).toBe('s');
  });

  it('drops the stream written least recently past the stream count', async () => {
    const store = new BoundedEventStore({
      eventsPerStream: 10,
      bytesPerStream: 1e9,
      streams: 2,
      bytesPerSession: 1e9
    });
    const a = await store.storeEvent('a', note(1));
    const b = await store.storeEvent('b', note(2));
    await store.storeEvent('a', note(3));
    await store.storeEvent('c', note(4));
    expect(await store.getStreamIdForEventId(b)).toBeUndefined();
    expect(await store.getStreamIdForEventId(a)).toBe('a');
  });

  it('drops the streams written least recently past the session bytes, never the one being written', async () => {
    const store = new BoundedEventStore({
      eventsPerStream: 10,
      bytesPerStream: 1e9,
      streams: 10,
      bytesPerSession: 500
    });
    const a = await store.storeEvent('a', note(1, 'x'.repeat(150)));
    const b = await store.storeEvent('b', note(2, 'x'.repeat(150)));
    const c = await store.storeEvent('c', note(3, 'x'.repeat(150)));
    expect(await store.getStreamIdForEventId(a)).toBeUndefined();
    expect(await store.getStreamIdForEventId(b)).toBe('b');
    const huge = await store.storeEvent('d', note(4, 'x'.repeat(1000)));
    expect(await store.getStreamIdForEventId(huge)).toBe('d');
    expect(await store.getStreamIdForEventId(b)).toBeUndefined();
    expect(await store.getStreamIdForEventId(c)).toBeUndefined();
  });

  it('knows no forged or malformed ids', async () => {
    const store = new BoundedEventStore();
    await store.storeEvent('s', note(1));
    for (const id of ['', 's', '/1', 's/', 's/abc', 's/999', 'other/1']) {
      expect(await store.getStreamIdForEventId(id)).toBeUndefined();
    }
  });
});

describe('EventBudget', () => {
  it("drops any session's oldest events, a lone big newest one included, once all hold more than the budget", async () => {
    const budget = new EventBudget(10_000);
    const idle = new BoundedEventStore(undefined, budget);
    const busy = new BoundedEventStore(undefined, budget);
    // Over the per-stream bound, but the newest of its stream: its store alone would keep it for good.
    const big = await idle.storeEvent('a', note(1, 'x'.repeat(300 * 1024)));
    expect(await idle.getStreamIdForEventId(big)).toBe('a');
    const first = await busy.storeEvent('b', note(2, 'y'.repeat(1000)));
    expect(await idle.getStreamIdForEventId(big)).toBeUndefined();
    const ids = [first];
    for (let n = 3; n < 40; n++) ids.push(await busy.storeEvent('b', note(n, 'y'.repeat(1000))));
    expect(budget.bytes).toBeLessThanOrEqual(10_000);
    expect(await busy.getStreamIdForEventId(ids[0]!)).toBeUndefined();
    const { sent } = await replay(busy, ids.at(-3)!);
    expect(sent.map(event => event.n)).toEqual([38, 39]);
    busy.clear();
    expect(budget.bytes).toBe(0);
  });

  it('forgets the charges of closed sessions, however many', async () => {
    const budget = new EventBudget(1_000_000);
    for (let session = 0; session < 500; session++) {
      const store = new BoundedEventStore(undefined, budget);
      for (let n = 0; n < 10; n++) await store.storeEvent('s', note(n));
      store.clear();
    }
    expect(budget.bytes).toBe(0);
    expect((budget as unknown as { charges: unknown[] }).charges.length).toBeLessThan(3000);
  });
});
