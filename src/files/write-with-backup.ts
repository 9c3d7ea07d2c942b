import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeDirs } from './make-dirs.js';

export interface WriteOptions {
  /** The mode of a file made new. */
  readonly mode?: number;
  /** The text is a secret (a token): the file ends up no wider than 0600, whatever it was. */
  readonly ownerOnly?: boolean;
}

/**
 * Replaces `file` with `text` so that a reader sees the old or the new file, never half of one:
 * the text goes to a temporary file beside it, made with the final mode (never wider), which is
 * renamed over it. An existing file is first copied to `file.bak` and keeps its permissions
 * (narrowed to its owner with `ownerOnly`); a new one gets `mode` (and its folder is made when
 * missing). Returns the backup's path, if one was made. Throws an Error whose message names the
 * file and the reason.
 */
export function writeWithBackup(file: string, text: string, options: WriteOptions = {}): string | undefined {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    makeDirs(path.dirname(file));
    const existed = existsSync(file);
    const backup = existed ? `${file}.bak` : undefined;
    if (backup) copyFileSync(file, backup);
    const kept = existed ? statSync(file).mode & 0o777 : (options.mode ?? 0o644);
    const mode = options.ownerOnly ? kept & 0o600 : kept;
    // A leftover would keep its own mode: the text must land in a file made now, with `mode`.
    rmSync(temporary, { force: true });
    writeFileSync(temporary, text, { mode, flag: 'wx' });
    // The umask may have narrowed it further; the file gets exactly `mode`.
    chmodSync(temporary, mode);
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
