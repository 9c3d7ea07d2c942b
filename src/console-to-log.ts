import { formatWithOptions } from 'node:util';
import type { Logger } from './log.js';

// `dir` writes to stdout itself (not through `log`); `table` and `trace` go through `log`/`error`.
const LEVELS = {
  log: 'info',
  info: 'info',
  dir: 'info',
  debug: 'debug',
  warn: 'warn',
  error: 'error'
} as const;

/**
 * Routes what libraries write with `console.*` (the MCP SDK's OAuth and tool-list warnings, say)
 * into `log`: one JSON line on stderr each, with `source: "console"`, instead of plain text on
 * stderr or, for `console.log`, on stdout, which the gateway keeps free. Never throws, as logging
 * never takes the process down.
 */
export function routeConsoleToLog(log: Logger): void {
  for (const [method, level] of Object.entries(LEVELS)) {
    // eslint-disable-next-line no-console -- replacing the console is this module's job
    console[method as keyof typeof LEVELS] = (...args: unknown[]) => {
      try {
        log[level](
          { source: 'console' },
          formatWithOptions({ colors: false, breakLength: Infinity }, ...args)
        );
      } catch {
        // nothing to do: a line that cannot be logged is dropped
      }
    };
  }
}
