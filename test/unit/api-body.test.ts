import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { appOptions } from '../support/app-options.js';

/**
 * A REST API body that is not sent as JSON is refused, not read as no body: with `curl -d` and no
 * Content-Type (a form), `POST /api/servers/x/approve {"items":["echo"]}` approved everything held.
 */

/** The bodies the API's routes were handed. */
const received: unknown[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const api = express.Router();
  api.post('/servers/:id/approve', (req, res) => {
    received.push(req.body);
    res.json({ ok: true });
  });
  const app = createApp(appOptions(pino({ level: 'silent' }), { api }));
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

const approve = (init: RequestInit) => fetch(`${base}/api/servers/x/approve`, { method: 'POST', ...init });

describe('a REST API request body', () => {
  it('sent as a form (curl -d without a Content-Type) is refused with 415, and no route runs', async () => {
    received.length = 0;
    const response = await approve({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"items":["echo"]}'
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({
      error: {
        code: 'unsupported_media_type',
        message:
          'Unsupported Media Type: send the body as JSON with Content-Type: application/json (this one: application/x-www-form-urlencoded)'
      }
    });
    expect(received).toEqual([]);
  });

  it('sent as JSON reaches the route; no body at all needs no Content-Type', async () => {
    received.length = 0;
    const json = await approve({
      headers: { 'content-type': 'application/json' },
      body: '{"items":["echo"]}'
    });
    expect(json.status).toBe(200);
    expect((await approve({})).status).toBe(200);
    expect(received[0]).toEqual({ items: ['echo'] });
    expect(received).toHaveLength(2);
  });
});
