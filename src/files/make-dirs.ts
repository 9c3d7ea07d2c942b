import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` and its missing parents, one at a time. Node.js's `mkdirSync(…, { recursive: true })`
 * never returns for a path under a directory that cannot hold one (`/proc/nope` spins at 100% CPU,
 * deaf to SIGTERM); here that is an error (ENOENT, EACCES) like any other. `mode` is given to each
 * directory made.
 */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !existsSync(at); at = path.dirname(at)) {
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const each of missing.reverse()) {
    try {
      mkdirSync(each, mode === undefined ? undefined : { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
