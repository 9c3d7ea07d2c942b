import express from 'express';
import type { AppOptions } from '../../src/http/app.js';
import type { Logger } from '../../src/log.js';

/**
 * Options for `createApp` in unit tests: no authentication, loopback only, a 1 MB body limit, and
 * nothing behind the MCP routes but what `overrides` gives (a side left out throws if reached).
 */
export function appOptions(log: Logger, overrides: Partial<Record<keyof AppOptions, unknown>>): AppOptions {
  const unused = {} as unknown;
  return {
    legacy: unused,
    modern: unused,
    sse: unused,
    health: () => ({}),
    readiness: () => Promise.resolve({ ready: true }),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    api: express.Router(),
    security: { metadata: express.Router(), forMcp: [], forAdmin: [] },
    allowedHosts: ['127.0.0.1'],
    allowedOrigins: [],
    maxBodyBytes: 1_000_000,
    accepting: () => true,
    log,
    ...overrides
  } as unknown as AppOptions;
}
