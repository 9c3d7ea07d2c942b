import { pino, type Logger } from 'pino';
import { LogDestination } from './log-destination.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The gateway's logger: JSON lines on stderr (fd 2), never stdout, which stays free for anything
 * that speaks a protocol over it. Secrets in server environments are redacted wherever they are
 * logged under `env`. A failing stderr (a full disk, a closed pipe) drops lines and counts them
 * ({@link droppedLogLines}); it never stops or stalls the process.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'mcp-gateway' },
      redact: { paths: ['env', '*.env', 'config.servers.*.env'], censor: '[redacted]' }
    },
    new LogDestination(2)
  );
}

/** Lines `log` (or the logger it is a child of) dropped because its destination failed. */
export function droppedLogLines(log: Logger): number {
  const destination = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return destination instanceof LogDestination ? destination.dropped : 0;
}
