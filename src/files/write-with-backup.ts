import { chmodSync, copyFileSync, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` with `text` so that a reader sees the old or the new file, never half of one:
 * the text goes to a temporary file beside it, which is renamed over it. An existing file is
 * first copied to `file.bak` and keeps its permissions; a new one gets `mode`. Returns the
 * backup's path, if one was made.
 */
export function writeWithBackup(file: string, text: string, mode = 0o644): string | undefined {
  const existed = existsSync(file);
  const backup = existed ? `${file}.bak` : undefined;
  if (backup) copyFileSync(file, backup);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, text);
  chmodSync(temporary, existed ? statSync(file).mode & 0o777 : mode);
  renameSync(temporary, file);
  return backup;
}
