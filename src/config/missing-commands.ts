import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { ServerSpec } from './server-spec.js';

/**
 * A warning for each local-process server whose working directory (`cwd:`) or program cannot be
 * found here, so that `validate` says so before a call fails with `spawn … ENOENT`. Looked up as
 * the gateway starts it: a name on the server's PATH (its `env.PATH`, else `env`'s), a path from
 * its working directory. Only a warning: the gateway may run with another PATH (a service) or on
 * another machine.
 */
export function missingCommandWarnings(
  servers: readonly ServerSpec[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd()
): string[] {
  return servers.flatMap(spec => {
    if (spec.kind !== 'process') return [];
    if (spec.cwd !== undefined && !isDirectory(spec.cwd)) {
      return [
        `servers.${spec.id}: its working directory ${spec.cwd} (cwd:) is not a directory here, so starting the server will fail: create it, or fix the path`
      ];
    }
    const program = spec.command[0];
    const searchPath = spec.env.PATH ?? env.PATH ?? '';
    if (isFound(program, searchPath, spec.cwd ?? cwd)) return [];
    const file = program.includes('/') ? path.resolve(spec.cwd ?? cwd, program) : undefined;
    const where = file === undefined ? 'is not on PATH' : 'is not an executable file';
    // A file that is there but may not be run fails otherwise than one that is missing.
    const failure = file !== undefined && isFile(file) ? 'EACCES' : 'ENOENT';
    return [
      `servers.${spec.id}: command ${program} ${where} here, so starting the server will fail (spawn ${failure}): install it, or give its full path`
    ];
  });
}

function isFound(program: string, searchPath: string, cwd: string): boolean {
  if (program.includes('/')) return isExecutable(path.resolve(cwd, program));
  return searchPath
    .split(path.delimiter)
    .filter(dir => dir !== '')
    .some(dir => isExecutable(path.join(dir, program)));
}

/** Whether `dir` is a directory here (following links). */
export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
