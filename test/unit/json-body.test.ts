import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHttpError } from '../../src/http/http-error.js';
import { BODIES_IN_FLIGHT, jsonBody, jsonTextDepth } from '../../src/http/json-body.js';

const LIMIT = 64 * 1024;
let server: Server;
let port: number;
/** Requests whose handlers have started, and who waits for that count to change. */
let entered = 0;
const waiters: (() => void)[] = [];
async function enteredAtLeast(count: number): Promise<void> {
  while (entered < count) await new Promise<void>(resolve => waiters.push(resolve));
}

beforeAll(async () => {
  const app = express();
  app.use((_req, _res, next) => {
    entered++;
    for (const waiter of waiters.splice(0)) waiter();
    next();
  });
  const body = jsonBody(LIMIT);
  app.post('/', body, (req, res) => {
    res.json({ body: req.body as unknown });
  });
  // As authentication may: an earlier handler that lets the event loop turn before the body is read.
  app.post(
    '/slow',
    (_req, _res, next) => void setTimeout(next, 50),
    body,
    (req, res) => {
      res.json({ body: req.body as unknown });
    }
  );
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const http = toHttpError(error);
    res.status(http.status).set(http.headers).json({ code: http.rpcCode, message: http.message });
  };
  app.use(onError);
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.close();
});

/** A POST to `path` with `headers`, its body left to the caller. */
function open(headers: Record<string, string | number>, path = '/') {
  const req = request({
    port,
    host: '127.0.0.1',
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers }
  });
  req.on('error', () => undefined); // destroyed on purpose by some tests
  return req;
}

/** POSTs `chunks` (chunked unless `length` is given) and resolves with the status and the JSON answer. */
function post(
  chunks: (string | Buffer)[],
  headers: Record<string, string | number> = {}
): Promise<{ status: number; json: Record<string, unknown>; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers }
    });
    req.on('response', res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          json: JSON.parse(text) as Record<string, unknown>,
          retryAfter: res.headers['retry-after']
        })
      );
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('jsonTextDepth', () => {
  it('counts brackets outside strings, escapes included', () => {
    const bytes = (text: string) => Buffer.from(text);
    expect(jsonTextDepth(bytes('{"a":[1,{"b":[]}]}'))).toBe(4);
    expect(jsonTextDepth(bytes('{"a":"[[[[\\"[[[","b":"\\\\"}'))).toBe(1);
    expect(jsonTextDepth(bytes('7'))).toBe(0);
    expect(jsonTextDepth(bytes('['.repeat(1000)), 10)).toBe(11);
  });

  it('agrees with the depth of the parsed value for any JSON', async () => {
    const fc = (await import('fast-check')).default;
    const { jsonDepth } = await import('../../src/http/guards.js');
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), value => {
        expect(jsonTextDepth(Buffer.from(JSON.stringify(value)))).toBe(jsonDepth(value));
      })
    );
  });
});

describe('jsonBody', () => {
  it('parses any JSON value, in chunks or whole, a leading BOM skipped; an empty body is {}', async () => {
    expect((await post(['{"a":', '[1,2', ']}'])).json).toEqual({ body: { a: [1, 2] } });
    expect((await post(['\ufeff"x"'])).json).toEqual({ body: 'x' });
    expect((await post([], { 'content-length': 0 })).json).toEqual({ body: {} });
  });

  it('refuses malformed JSON (-32700), a charset other than UTF-8 (415)', async () => {
    expect(await post(['{"a":'])).toMatchObject({ status: 400, json: { code: -32700 } });
    expect(await post(['{}'], { 'content-type': 'application/json; charset=latin1' })).toMatchObject({
      status: 415
    });
  });

  it('refuses a body nested deeper than 128 levels from its bytes, and one past the limit, declared or not', async () => {
    const deep = await post(['['.repeat(129) + ']'.repeat(129)]);
    expect(deep).toMatchObject({
      status: 400,
      json: { message: expect.stringContaining('nested deeper than 128') }
    });
    expect((await post(['['.repeat(128) + ']'.repeat(128)])).status).toBe(200);
    const big = Buffer.alloc(LIMIT + 1, ' ');
    expect((await post([big], { 'content-length': big.length })).status).toBe(413);
    expect((await post([big.subarray(0, LIMIT / 2), big.subarray(LIMIT / 2)])).status).toBe(413);
  });

  it('refuses bodies past the in-flight budget (503, Retry-After) while it is full, and takes them once freed', async () => {
    // BODIES_IN_FLIGHT bodies of the largest size, each sent but for its last byte, fill the budget.
    const held = Array.from({ length: BODIES_IN_FLIGHT }, () => {
      const req = open({ 'content-length': LIMIT });
      const answered = new Promise<number>(resolve => req.on('response', res => resolve(res.statusCode!)));
      req.write(`"${'x'.repeat(LIMIT - 2)}`);
      return { req, answered };
    });
    // The budget counts bytes as they arrive: once the held ones have, a 64-byte body overflows it.
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let attempt = 0; attempt < 200 && refused === undefined; attempt++) {
      const answer = await post([JSON.stringify({ pad: 'y'.repeat(52) })]);
      if (answer.status === 503) refused = answer;
      else await new Promise(resolve => setTimeout(resolve, 10));
    }
    expect(refused).toMatchObject({
      status: 503,
      retryAfter: '1',
      json: { message: expect.stringContaining(`budget of ${BODIES_IN_FLIGHT * LIMIT} bytes`) }
    });
    for (const { req } of held) req.end('"');
    expect(await Promise.all(held.map(h => h.answered))).toEqual(held.map(() => 200));
    expect(await post(['{"after":1}'])).toMatchObject({ status: 200, json: { body: { after: 1 } } });
  });

  it('does not let connections that declare the largest body and send nothing hold the budget', async () => {
    const before = entered;
    const idle = Array.from({ length: BODIES_IN_FLIGHT + 1 }, () => open({ 'content-length': LIMIT }));
    for (const req of idle) req.flushHeaders();
    await enteredAtLeast(before + idle.length);
    expect(await post([`"${'z'.repeat(LIMIT - 2)}"`], { 'content-length': LIMIT })).toMatchObject({
      status: 200
    });
    for (const req of idle) req.destroy();
  });

  it('keeps nothing of a body whose connection closed before it was read', async () => {
    // Each declares the largest body and goes while the earlier handler waits.
    for (let i = 0; i < BODIES_IN_FLIGHT + 1; i++) {
      const req = open({ 'content-length': LIMIT }, '/slow');
      req.write(`"${'x'.repeat(100)}`);
      await new Promise(resolve => setTimeout(resolve, 5));
      req.destroy();
    }
    await new Promise(resolve => setTimeout(resolve, 150)); // every earlier handler has passed on
    expect(await post([`"${'z'.repeat(LIMIT - 2)}"`], { 'content-length': LIMIT })).toMatchObject({
      status: 200
    });
  });

  it('reads at most BODIES_IN_FLIGHT compressed bodies at once (503 beyond), and others meanwhile', async () => {
    const gzipped = gzipSync(JSON.stringify({ pad: 'q'.repeat(1000) }));
    const before = entered;
    const held = Array.from({ length: BODIES_IN_FLIGHT }, () => {
      const req = open({ 'content-encoding': 'gzip', 'content-length': gzipped.length });
      const answered = new Promise<number>(resolve => req.on('response', res => resolve(res.statusCode!)));
      req.write(gzipped.subarray(0, 10));
      return { req, answered };
    });
    await enteredAtLeast(before + BODIES_IN_FLIGHT);
    const refused = await post([gzipped], { 'content-encoding': 'gzip', 'content-length': gzipped.length });
    expect(refused).toMatchObject({ status: 503, json: { message: expect.stringContaining('compressed') } });
    expect((await post(['{"plain":1}'])).status).toBe(200);
    for (const { req } of held) req.end(gzipped.subarray(10));
    expect(await Promise.all(held.map(h => h.answered))).toEqual(held.map(() => 200));
    expect(
      (await post([gzipped], { 'content-encoding': 'gzip', 'content-length': gzipped.length })).status
    ).toBe(200);
  });

  it('hands a compressed body to express.json', async () => {
    const gzipped = gzipSync('{"z":1}');
    const answer = await post([gzipped], { 'content-encoding': 'gzip', 'content-length': gzipped.length });
    expect(answer.json).toEqual({ body: { z: 1 } });
  });
});
