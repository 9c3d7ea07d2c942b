import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { HttpError } from '../../src/http/http-error.js';
import { appOptions } from '../support/app-options.js';

/** One line the app logged, as pino writes it. */
interface Line {
  readonly level: number;
  readonly msg: string;
  readonly err?: string;
}

const DEBUG = 20;
const ERROR = 50;

/** What the app logs, at every level down to debug. */
const lines: Line[] = [];
const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });

/** What the 2025-era side throws next for `GET /mcp`; `accepting()` answers `draining`'s opposite. */
let thrown: unknown;
let draining = false;
let server: Server;
let url: string;

beforeAll(async () => {
  const app = createApp(
    appOptions(log, {
      legacy: { handle: () => Promise.reject(thrown instanceof Error ? thrown : new Error(String(thrown))) },
      accepting: () => !draining
    })
  );
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  lines.length = 0;
  draining = false;
  thrown = undefined;
});

describe('createApp error log levels', () => {
  it('logs a refusal while shutting down (503) at debug, not as a failure', async () => {
    draining = true;
    const response = await fetch(url);
    expect(response.status).toBe(503);
    expect(lines.filter(line => line.level >= ERROR)).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: DEBUG,
        msg: 'request refused (503)',
        err: 'The gateway is shutting down'
      })
    );
  });

  it('logs a busy refusal (503 with Retry-After) at debug, not as a failure', async () => {
    thrown = new HttpError(503, -32000, 'Server busy: the body budget is full', { 'retry-after': '1' });
    const response = await fetch(url);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(lines.filter(line => line.level >= ERROR)).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: DEBUG,
        msg: 'request refused (503)',
        err: 'Server busy: the body budget is full'
      })
    );
  });

  it('still logs any other 5xx (a handler that fails: 500) at error', async () => {
    thrown = new Error('handler broke');
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: ERROR, msg: 'request failed', err: 'handler broke' })
    );
  });
});
