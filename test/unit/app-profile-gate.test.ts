import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { appOptions } from '../support/app-options.js';

/** The profiles served now (a reload changes them); the profiles the 2026-era side was asked to serve. */
let profiles = ['dev'];
const served: (string | undefined)[] = [];
let server: Server;
let port: number;

beforeAll(async () => {
  const app = createApp(
    appOptions(pino({ level: 'silent' }), {
      modern: {
        handle: (_req: unknown, res: express.Response, _body: unknown, profile?: string) => {
          served.push(profile);
          res.json({ jsonrpc: '2.0', id: 1, result: {} });
          return Promise.resolve();
        }
      },
      profiles: () => profiles
    })
  );
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

describe('the profile gate', () => {
  it('refuses a POST whose profile a reload removed while its body was arriving', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } }
    });
    const post = request({
      host: '127.0.0.1',
      port,
      path: '/mcp/dev',
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'subscriptions/listen',
        'content-length': Buffer.byteLength(body)
      }
    });
    const answered = once(post, 'response') as Promise<[import('node:http').IncomingMessage]>;
    post.write(body.slice(0, 10));
    await new Promise(resolve => setTimeout(resolve, 100)); // the headers are in, and past any gate before the body
    profiles = []; // the reload
    post.end(body.slice(10));
    const [response] = await answered;
    const text = (await response.toArray()).join('');
    expect(response.statusCode).toBe(404);
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toContain(
      'Unknown profile "dev"'
    );
    expect(served).toEqual([]);
  });
});
