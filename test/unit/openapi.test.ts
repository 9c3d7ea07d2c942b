import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Express, Router } from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GatewayError, type GatewayErrorCode } from '../../src/errors.js';
import { API_ERROR_SCHEMA, apiErrorOf } from '../../src/http/api/api-error.js';
import { createApiRouter, type ApiOptions } from '../../src/http/api/api-router.js';
import { openApiDocument } from '../../src/http/api/openapi.js';
import { parseParams } from '../../src/http/api/params.js';
import { createApp, type AppOptions } from '../../src/http/app.js';
import { HttpError, statusOfCallError } from '../../src/http/http-error.js';
import { silentLog } from '../support/fake-runtime.js';

const VERSION = '9.8.7-test';

/** The parts of an Express 5 router layer this test reads. */
interface Layer {
  readonly name: string;
  readonly rawPath?: string;
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> };
  readonly handle: { readonly stack?: readonly Layer[] };
}

/** The app as the gateway builds it; nothing the routes touch at construction is real. */
function buildApp(): { app: Express; api: Router } {
  const unused = {} as unknown;
  const api = createApiRouter({
    upstreams: [],
    catalog: unused,
    queries: unused,
    flushHistory: () => {},
    events: unused,
    runner: unused,
    audit: unused,
    version: VERSION
  } as unknown as ApiOptions);
  const app = createApp({
    legacy: unused,
    modern: unused,
    health: () => ({}),
    readiness: () => Promise.resolve({ ready: true }),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    api,
    security: { metadata: express.Router(), forMcp: [], forAdmin: [] },
    allowedHosts: ['localhost'],
    allowedOrigins: [],
    maxBodyBytes: 1_000_000,
    accepting: () => true,
    log: silentLog
  } as unknown as AppOptions);
  return { app, api };
}

/**
 * Every `METHOD path` routed by `stack`, descending into mounted routers. Middleware without a
 * route (guards, body parsers, the 404 catch-alls) carries no method and is skipped.
 */
function routesOf(stack: readonly Layer[], prefix = ''): string[] {
  const routes: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter(m => layer.route!.methods[m]);
      for (const method of methods) routes.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
    } else if (Array.isArray(layer.handle.stack)) {
      routes.push(...routesOf(layer.handle.stack, `${prefix}${layer.rawPath ?? ''}`));
    }
  }
  return routes;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function documentRoutes(document: Record<string, unknown>): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([route, item]) =>
    Object.keys(item)
      .filter(key => HTTP_METHODS.includes(key))
      .map(method => `${method.toUpperCase()} ${route.replace(/\{([^}]+)\}/g, ':$1')}`)
  );
}

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner)
  );
}

describe('the OpenAPI document', () => {
  const document = openApiDocument(VERSION);

  it('is OpenAPI 3.1.0 with the version it was given', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'mcp-gateway', version: VERSION });
    expect((openApiDocument('1.0.0').info as { version: string }).version).toBe('1.0.0');
  });

  it('describes exactly the health, metrics and /api routes the app registers', () => {
    const { app } = buildApp();
    const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
    const all = routesOf(stack);
    // The REST surface; /mcp (the MCP endpoint, GET/POST/DELETE and its 405 catch-all) is not part of it.
    const registered = all.filter(route => /^[A-Z-]+ (\/healthz|\/readyz|\/metrics|\/api\/.*)$/.test(route));

    // The walk did find the app's own routes, the mounted API router's, and /mcp.
    expect(registered).toContain('GET /healthz');
    expect(registered).toContain('POST /api/servers/:id/start');
    expect(all).toEqual(expect.arrayContaining(['GET /mcp', 'POST /mcp', 'DELETE /mcp']));

    expect(new Set(registered).size).toBe(registered.length);
    expect(new Set(documentRoutes(document))).toEqual(new Set(registered));
    expect(documentRoutes(document)).toHaveLength(registered.length);
  });

  it('is what GET /api/openapi.json serves', () => {
    const { api } = buildApp();
    type Handler = (req: unknown, res: unknown) => void;
    const layer = (api.stack as unknown as { route?: { path: string; stack: { handle: Handler }[] } }[]).find(
      l => l.route?.path === '/openapi.json'
    );
    let body: unknown;
    layer!.route!.stack[0]!.handle({}, { json: (value: unknown) => (body = value) });
    expect(body).toEqual(document);
  });

  it('declares every {parameter} of a path as a path parameter', () => {
    const paths = document.paths as Record<
      string,
      Record<string, { parameters?: { name: string; in: string }[] }>
    >;
    for (const [route, item] of Object.entries(paths)) {
      const names = [...route.matchAll(/\{([^}]+)\}/g)].map(match => match[1]);
      // A path item holds its operations by method, beside fields such as its description.
      const operations = Object.entries(item).filter(([key]) =>
        ['get', 'put', 'post', 'delete', 'patch'].includes(key)
      );
      expect(operations.length, route).toBeGreaterThan(0);
      for (const [, operation] of operations) {
        const declared = (operation.parameters ?? []).filter(p => p.in === 'path').map(p => p.name);
        expect(declared.sort(), route).toEqual([...names].sort());
      }
    }
  });

  it('resolves every $ref to a schema in components.schemas', () => {
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\/[^/]+$/);
      expect(schemas, ref).toHaveProperty([ref.slice('#/components/schemas/'.length)]);
    }
  });
});

describe('parseParams', () => {
  const Query = z.strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    state: z.enum(['open', 'closed', 'all']).default('all'),
    nested: z.object({ depth: z.number() }).optional()
  });

  function thrownBy(fn: () => unknown): HttpError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      return error as HttpError;
    }
    throw new Error('expected a throw');
  }

  it('returns the parsed value, defaults applied', () => {
    expect(parseParams(Query, { limit: '5' }, 'query')).toEqual({ limit: 5, state: 'all' });
  });

  it.each([
    [{ limit: 'abc' }, 'limit'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ state: 'sideways' }, 'state'],
    [{ nested: { depth: 'deep' } }, 'nested.depth']
  ])('refuses %j with a 400 naming "%s"', (value, name) => {
    const error = thrownBy(() => parseParams(Query, value, 'query'));
    expect(error.status).toBe(400);
    expect(error.rpcCode).toBe(-32602);
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toContain('query');
  });

  it('names an unknown parameter', () => {
    const error = thrownBy(() => parseParams(Query, { limit: '5', bogus: '1' }, 'query'));
    expect(error.status).toBe(400);
    expect(error.message).toContain('"bogus"');
  });

  it('refuses a query parameter given twice, saying so', () => {
    const error = thrownBy(() => parseParams(Query, { limit: ['5', '6'] }, 'query'));
    expect(error.status).toBe(400);
    expect(error.message).toBe('invalid query parameter "limit": given 2 times; give it once');
  });

  it('names where the value came from when the whole value is wrong', () => {
    const error = thrownBy(() => parseParams(z.record(z.string(), z.unknown()), [1, 2], 'body'));
    expect(error.status).toBe(400);
    expect(error.message).toContain('"body"');
  });
});

describe('statusOfCallError', () => {
  const expected: Record<GatewayErrorCode, number> = {
    unknown_tool: 404,
    unknown_prompt: 404,
    unknown_resource: 404,
    unknown_reference: 404,
    invalid_arguments: 400,
    server_unavailable: 503,
    server_busy: 503,
    forbidden: 403,
    engine_unreachable: 503,
    remote_unreachable: 503,
    remote_refused: 502,
    remote_invalid: 502,
    start_failed: 502,
    server_exited: 502,
    image_unavailable: 502,
    invalid_result: 502,
    message_too_large: 502,
    call_timeout: 504,
    cancelled: 499,
    login_required: 503,
    login_failed: 502,
    quarantined: 403,
    not_quarantined: 409
  };

  it.each(Object.entries(expected))('maps GatewayError %s to %i', (code, status) => {
    expect(
      statusOfCallError(new GatewayError(code as GatewayErrorCode, 'failed', { serverId: 'alpha' }))
    ).toBe(status);
  });

  it('maps a ProtocolError from a server to 502', () => {
    expect(statusOfCallError(new ProtocolError(ProtocolErrorCode.InvalidParams, 'bad params'))).toBe(502);
    expect(statusOfCallError(new ProtocolError(ProtocolErrorCode.InternalError, 'boom'))).toBe(502);
  });

  it('maps anything else to 502', () => {
    expect(statusOfCallError(new Error('unexpected'))).toBe(502);
    expect(statusOfCallError('a string')).toBe(502);
  });
});

describe('/api errors', () => {
  /** Serves the app on an ephemeral loopback port for one request (node:http: fetch cannot set Host). */
  async function request(
    app: Express,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {}
  ): Promise<{ status: number; json: () => unknown }> {
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: { host: 'localhost', ...init.headers }
      });
      req.end(init.body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      let text = '';
      for await (const chunk of res) text += String(chunk);
      return { status: res.statusCode!, json: () => JSON.parse(text) as unknown };
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  const schema = (openApiDocument(VERSION).components as { schemas: { Error: typeof API_ERROR_SCHEMA } })
    .schemas.Error;

  it.each([
    ['an unknown route', '/api/nope', {}, 404, 'not_found'],
    ['a bad query parameter', '/api/requests?limit=abc', {}, 400, 'invalid_request'],
    [
      'a body that is not JSON',
      '/api/tools/x__y/call',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' },
      400,
      'invalid_request'
    ],
    ['a host that is not allowed', '/api/servers', { headers: { host: 'evil.example' } }, 403, 'forbidden']
  ])('answer %s in the one documented shape', async (_case, path, init, status, code) => {
    const { app } = buildApp();
    const response = await request(app, path, init);
    expect(response.status).toBe(status);
    const body = response.json() as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
    for (const key of schema.required) expect(body).toHaveProperty(key);
    for (const key of schema.properties.error.required) expect(body.error).toHaveProperty(key);
    for (const key of Object.keys(body.error)) expect(schema.properties.error.properties).toHaveProperty(key);
  });

  it('make a failed call and a server error the same shape, with the reason as code', () => {
    expect(
      apiErrorOf(new GatewayError('call_timeout', 'tool T did not finish', { serverId: 'alpha' }))
    ).toEqual({
      status: 504,
      headers: {},
      body: {
        error: { code: 'call_timeout', message: 'tool T did not finish', server: 'alpha', rpcCode: -32001 }
      },
      internal: false
    });
    expect(apiErrorOf(new ProtocolError(ProtocolErrorCode.InvalidParams, 'bad params')).body).toEqual({
      error: { code: 'server_error', message: expect.stringContaining('bad params'), rpcCode: -32602 }
    });
    expect(apiErrorOf(new Error('boom'))).toMatchObject({
      status: 500,
      body: { error: { code: 'internal_error' } },
      internal: true
    });
  });
});
