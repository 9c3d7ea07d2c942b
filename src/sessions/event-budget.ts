/** The bytes all sessions' event stores may hold between them unless told otherwise: 64 MiB. */
export const DEFAULT_EVENT_BUDGET_BYTES = 64 * 1024 * 1024;

/** What the budget can ask a store to give up: one of its events, if it still holds it. */
export interface EventHolder {
  /** Drops event `seq` of `streamId` if held; returns the bytes freed (0 if it was gone). */
  dropEvent(streamId: string, seq: number): number;
  /** Whether event `seq` of `streamId` is still held. */
  holds(streamId: string, seq: number): boolean;
}

interface Charge {
  readonly holder: EventHolder;
  readonly streamId: string;
  readonly seq: number;
}

/**
 * A gateway-wide bound on the bytes held for SSE replay, shared by every session's event store:
 * past it, the oldest events of any session are dropped first. A store's own bounds only hold each
 * session; without this, a session kept its newest event, whatever its size, for its lifetime.
 * The one event just stored is kept even when it alone is over the budget.
 */
export class EventBudget {
  /** Events in the order they were stored; some may since have been dropped by their store. */
  private charges: Charge[] = [];
  private head = 0;
  /** Bytes held now, in every store. */
  private held = 0;
  /** Events held now, in every store. */
  private events = 0;

  constructor(readonly limitBytes: number = DEFAULT_EVENT_BUDGET_BYTES) {}

  get bytes(): number {
    return this.held;
  }

  /** Counts an event `holder` just stored, then drops the oldest events while over the budget. */
  charge(holder: EventHolder, streamId: string, seq: number, bytes: number): void {
    this.charges.push({ holder, streamId, seq });
    this.held += bytes;
    this.events++;
    while (this.held > this.limitBytes && this.head < this.charges.length - 1) {
      const oldest = this.charges[this.head++]!;
      const freed = oldest.holder.dropEvent(oldest.streamId, oldest.seq);
      if (freed > 0) this.release(freed, 1);
    }
    // Forget the charges of events no longer held now and then, so the queue stays near the
    // events held (stores drop events by their own bounds, and whole when their session closes).
    if (this.charges.length - this.head > 2 * this.events + 1024) {
      this.charges = this.charges
        .slice(this.head)
        .filter(charge => charge.holder.holds(charge.streamId, charge.seq));
      this.head = 0;
    }
  }

  /** Bytes (of `events` events) a store gave up: by its own bounds, or its session closing. */
  release(bytes: number, events: number): void {
    this.held -= bytes;
    this.events -= events;
  }
}
