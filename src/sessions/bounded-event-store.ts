import { randomBytes } from 'node:crypto';
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';
import { EventBudget, type EventHolder } from './event-budget.js';

/**
 * How much of a session's SSE traffic is held for `Last-Event-ID` replay. The newest event of the
 * stream being written is held whatever its size, so that the answer a cut stream missed can be
 * replayed; everything older gives way to the bounds, oldest first. All sessions share one
 * {@link EventBudget} besides, which drops the oldest events of any session, newest ones included.
 */
export interface EventStoreBounds {
  /** Events held per stream; past it, the stream's oldest are dropped. */
  readonly eventsPerStream: number;
  /** Bytes (serialized JSON) held per stream; past it, the stream's oldest events are dropped. */
  readonly bytesPerStream: number;
  /** Streams held per session; past it, the stream written least recently is dropped whole. */
  readonly streams: number;
  /** Bytes held per session; past it, the streams written least recently are dropped whole. */
  readonly bytesPerSession: number;
}

export const DEFAULT_EVENT_STORE_BOUNDS: EventStoreBounds = {
  eventsPerStream: 100,
  bytesPerStream: 256 * 1024,
  streams: 32,
  bytesPerSession: 1024 * 1024
};

/** This process's tag in every event id: an id from before a restart is told apart by it. */
const THIS_RUN = randomBytes(4).toString('hex');

/** The SDK transport's name for a session's standalone (GET) stream. */
const STANDALONE_STREAM = '_GET_stream';

export interface EventStoreOptions {
  /**
   * The store of a session rebuilt after a restart: a resume of its standalone (GET) stream from an
   * event of an earlier run, which no store holds any more, replays what this store holds of that
   * stream (everything in it came after the restart) instead of being refused.
   */
  readonly restored?: boolean;
  /** The run tag of the ids issued (tests); by default this process's. */
  readonly run?: string;
}

interface HeldEvent {
  readonly seq: number;
  readonly message: JSONRPCMessage;
  readonly bytes: number;
}

interface HeldStream {
  readonly events: HeldEvent[];
  bytes: number;
}

/**
 * One 2025-era session's SSE events, held in memory for resumption (the SDK's `eventStore`). An event
 * id is `<streamId>/<run>-<sequence>`, so a resume is routed by decoding it; an id whose event is no
 * longer held (dropped by a bound, never issued, or issued before a restart) is unknown to
 * {@link getStreamIdForEventId}, and the SDK's transport answers that resume with its own 400; but
 * see {@link EventStoreOptions.restored}. Owned by one transport; freed with it.
 */
export class BoundedEventStore implements EventStore, EventHolder {
  /** In insertion order of last write: the first is the stream written least recently. */
  private readonly streams = new Map<StreamId, HeldStream>();
  private nextSeq = 1;
  /** Bytes held in all streams. */
  private bytes = 0;
  private readonly run: string;

  constructor(
    private readonly bounds: EventStoreBounds = DEFAULT_EVENT_STORE_BOUNDS,
    /** Shared with every other session's store; a store of its own has a budget of its own. */
    private readonly budget: EventBudget = new EventBudget(),
    private readonly options: EventStoreOptions = {}
  ) {
    this.run = options.run ?? THIS_RUN;
  }

  /**
   * Holds `message` as the next event of `streamId`. `bytes` is its serialized length when the caller
   * has it (a kept page's), sparing a serialization; by default it is measured here.
   */
  storeEvent(streamId: StreamId, message: JSONRPCMessage, bytes?: number): Promise<EventId> {
    const held = this.streams.get(streamId) ?? { events: [], bytes: 0 };
    this.streams.delete(streamId);
    this.streams.set(streamId, held);
    const event = {
      seq: this.nextSeq++,
      message,
      bytes: bytes ?? Buffer.byteLength(JSON.stringify(message))
    };
    held.events.push(event);
    held.bytes += event.bytes;
    this.bytes += event.bytes;
    while (
      held.events.length > 1 &&
      (held.events.length > this.bounds.eventsPerStream || held.bytes > this.bounds.bytesPerStream)
    ) {
      const dropped = held.events.shift()!.bytes;
      held.bytes -= dropped;
      this.bytes -= dropped;
      this.budget.release(dropped, 1);
    }
    // The stream just written is the last in the map, so it is never the one dropped here.
    while (
      this.streams.size > 1 &&
      (this.streams.size > this.bounds.streams || this.bytes > this.bounds.bytesPerSession)
    ) {
      const oldest = this.streams.keys().next().value!;
      const dropped = this.streams.get(oldest)!;
      this.bytes -= dropped.bytes;
      this.budget.release(dropped.bytes, dropped.events.length);
      this.streams.delete(oldest);
    }
    this.budget.charge(this, streamId, event.seq, event.bytes);
    return Promise.resolve(this.idOf(streamId, event.seq));
  }

  /** For the budget: drops event `seq` of `streamId` if still held, and returns its bytes. */
  dropEvent(streamId: string, seq: number): number {
    const held = this.streams.get(streamId);
    const index = held?.events.findIndex(event => event.seq === seq) ?? -1;
    if (!held || index === -1) return 0;
    const [dropped] = held.events.splice(index, 1);
    held.bytes -= dropped!.bytes;
    this.bytes -= dropped!.bytes;
    if (held.events.length === 0) this.streams.delete(streamId);
    return dropped!.bytes;
  }

  holds(streamId: string, seq: number): boolean {
    return this.streams.get(streamId)?.events.some(event => event.seq === seq) ?? false;
  }

  /** Frees everything held (its session closed), giving the bytes back to the budget. */
  clear(): void {
    let events = 0;
    for (const held of this.streams.values()) events += held.events.length;
    this.budget.release(this.bytes, events);
    this.bytes = 0;
    this.streams.clear();
  }

  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    if (this.isEarlierStandalone(eventId)) return Promise.resolve(STANDALONE_STREAM);
    return Promise.resolve(this.find(eventId)?.streamId);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }
  ): Promise<StreamId> {
    if (this.isEarlierStandalone(lastEventId)) {
      for (const event of [...(this.streams.get(STANDALONE_STREAM)?.events ?? [])]) {
        await send(this.idOf(STANDALONE_STREAM, event.seq), event.message);
      }
      return STANDALONE_STREAM;
    }
    const found = this.find(lastEventId);
    if (!found) throw new Error(`event ${lastEventId} is no longer held`);
    for (const event of [...found.held.events]) {
      if (event.seq > found.seq) await send(this.idOf(found.streamId, event.seq), event.message);
    }
    return found.streamId;
  }

  private idOf(streamId: StreamId, seq: number): EventId {
    return `${streamId}/${this.run}-${seq}`;
  }

  /** Whether `eventId` names an event of the standalone stream issued by an earlier run (restored stores only). */
  private isEarlierStandalone(eventId: EventId): boolean {
    if (!this.options.restored) return false;
    const match = /^(.+)\/([0-9a-f]+)-\d+$/.exec(eventId);
    return match?.[1] === STANDALONE_STREAM && match[2] !== this.run;
  }

  private find(eventId: EventId): { streamId: StreamId; seq: number; held: HeldStream } | undefined {
    const slash = eventId.lastIndexOf('/');
    if (slash <= 0) return undefined;
    const streamId = eventId.slice(0, slash);
    const prefix = `${this.run}-`;
    const rest = eventId.slice(slash + 1);
    if (!rest.startsWith(prefix)) return undefined;
    const seq = Number(rest.slice(prefix.length));
    const held = this.streams.get(streamId);
    if (!held || !Number.isSafeInteger(seq) || !held.events.some(event => event.seq === seq))
      return undefined;
    return { streamId, seq, held };
  }
}
