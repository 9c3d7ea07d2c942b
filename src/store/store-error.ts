/** Why the state database cannot be used. */
export type StoreErrorCode =
  /** The file fails SQLite's integrity check, or is not a database at all. */
  | 'damaged'
  /** The file or its directory cannot be opened, created or written. */
  | 'unavailable'
  /** A sealed credential fails its authentication tag: altered, moved to another row, or sealed under another key. */
  | 'tampered'
  /** The state directory's lock is held by another gateway (src/store/state-lock.ts). */
  | 'locked';

/**
 * A local failure of the state database. The message names the file and says what to do; the
 * process refuses to start on one rather than serving with a store that answers errors.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options: { cause?: unknown } = {}
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
