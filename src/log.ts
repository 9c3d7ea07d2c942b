import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The gateway's logger: JSON lines on stderr (fd 2), never stdout, which stays free for anything
 * that speaks a protocol over it. Secrets in server environments are redacted wherever they are
 * logged under `env`.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'mcp-gateway' },
      redact: { paths: ['env', '*.env', 'config.servers.*.env'], censor: '[redacted]' }
    },
    pino.destination({ fd: 2, sync: false })
  );
}
