/**
 * SQLite's errors as node:sqlite throws them (`errcode`, its primary or extended result code),
 * classified for the store's own messages.
 */

/** The primary result code of `error` (an extended code's low byte), when it is SQLite's. */
function primaryCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | undefined)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged, or no database at all. */
export function isDamage(error: unknown): boolean {
  const code = primaryCode(error);
  return code === 11 || code === 26;
}

/** SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = primaryCode(error);
  return code === 5 || code === 6;
}

/** SQLITE_FULL: the disk (or quota) is full. */
export function isFull(error: unknown): boolean {
  return primaryCode(error) === 13;
}

/** The message of any thrown value, for the store's errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
