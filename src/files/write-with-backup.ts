import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` with `text` so that a reader sees the old or the new file, never half of one:
 * the text goes to a temporary file beside it, which is renamed over it. An existing file is
 * first copied to `file.bak` and keeps its permissions; a new one gets `mode` (and its folder is
 * made when missing). Returns the
 * backup's path, if one was made. Throws an Error whose message names the file and the reason.
 */
export function writeWithBackup(file: string, text: string, mode = 0o644): string | undefined {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const existed = existsSync(file);
    const backup = existed ? `${file}.bak` : undefined;
    if (backup) copyFileSync(file, backup);
    writeFileSync(temporary, text);
    chmodSync(temporary, existed ? statSync(file).mode & 0o777 : mode);
    renameSync(temporary, file);
    return backup;
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // there was no folder to leave it in
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot write ${file} (${code}); nothing was changed there`, { cause: error });
  }
}
