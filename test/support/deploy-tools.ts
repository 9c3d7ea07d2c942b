import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Whether `command` is an executable on the PATH. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some(dir => {
    if (!dir) return false;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Whether a suite that needs `command` runs. In CI (`CI=true`) a missing command is an error,
 * never a skip; elsewhere the suite is skipped and says so loudly. `install` says where it comes
 * from (an apt package that .ci/run installs).
 */
export function requireTool(command: string, suite: string, install: string): boolean {
  if (onPath(command)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${suite}: ${command} is not installed, and CI requires it (${install}; see .ci/run)`);
  }
  console.warn(
    `\n*** ${suite}: SKIPPED — ${command} is not installed (${install}). .ci/run installs it. ***\n`
  );
  return false;
}

export interface RunResult {
  /** The exit code; null when killed by a signal. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end and returns what it printed, whatever its exit code. */
export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        if (error !== null && code === null && !error.killed) {
          reject(new Error(`${file}: ${error.message}`, { cause: error })); // it did not start at all
          return;
        }
        resolve({ code, stdout, stderr });
      }
    );
  });
}
