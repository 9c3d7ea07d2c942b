/** What a call paid to start its server: `cold` when it had to start it, and how long that took. */
export interface ColdStart {
  readonly cold: boolean;
  readonly startMs: number;
}

const WARM: ColdStart = { cold: false, startMs: 0 };

/**
 * The start a failed call paid, keyed by the error it failed with, so a failure can be recorded as
 * cold like a success: a rejection carries no outcome beside the error. Weak, so an error forgotten
 * by everyone is forgotten here too.
 */
const paid = new WeakMap<object, ColdStart>();

/** Notes that the call that fails with `error` paid a start. Returns `error`, to be thrown. */
export function withColdStart(error: unknown, start: ColdStart): unknown {
  if (start.cold && typeof error === 'object' && error !== null) paid.set(error, start);
  return error;
}

/** The start the call that failed with `error` paid, or a warm one when it paid none. */
export function coldStartOf(error: unknown): ColdStart {
  return (typeof error === 'object' && error !== null && paid.get(error)) || WARM;
}
