import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Client } from '@modelcontextprotocol/client';
import { connect, FIXTURE_SERVER, GatewayProcess } from '../support/gateway-process.js';

/**
 * Holds the OpenAPI document to what the real daemon answers: every documented operation is called
 * (the safe writes on the fixture server), and each status must be one the document lists for it
 * and each JSON body must match the schema the document gives for that status. Object schemas that
 * list their properties are closed here, so a field the daemon answers but the document omits fails.
 */

const CONFIG = `
defaults:
  idleTimeout: 30
servers:
  fixture:
    description: The test fixture
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
  held:
    description: Held until approved
    trust: manual
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: object } };

/** Closes every object schema that lists its properties, so undocumented fields are reported. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  if ('properties' in copy && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy;
}

let gateway: GatewayProcess;
let client: Client;
let document: Document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();
const called = new Set<string>();

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  client = await connect(gateway.url, 'legacy', 'conformance');
  document = (await (await fetch(new URL('/api/openapi.json', gateway.url))).json()) as Document;
  ajv.addSchema(closed({ components: document.components }) as object, 'doc');
}, 60_000);

afterAll(async () => {
  await client?.close();
  await gateway?.dispose();
});

/** Calls `method path` (the documented `template`) and checks status and body against the document. */
async function call(
  method: string,
  template: string,
  path = template,
  body?: unknown
): Promise<{ status: number; body: unknown }> {
  const operation = document.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  called.add(`${method} ${template}`);
  const response = await fetch(new URL(path, gateway.url), {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  });
  const where = `${method} ${path} → ${response.status}`;
  const documented = operation!.responses[String(response.status)];
  expect.soft(documented, `${where}: the status is documented`).toBeDefined();
  if (!documented) return { status: response.status, body: await response.text() };
  const [type, media] = Object.entries(documented.content ?? {})[0] ?? [];
  expect.soft(response.headers.get('content-type') ?? '', where).toContain(type ?? 'none');
  if (type !== 'application/json') {
    await response.body?.cancel();
    return { status: response.status, body: undefined };
  }
  const json = (await response.json()) as unknown;
  const key = `${method} ${template} ${response.status}`;
  let validate = validators.get(key);
  if (!validate) {
    const schema = JSON.parse(
      JSON.stringify(closed(media!.schema)).replaceAll('"#/components/', '"doc#/components/')
    );
    validate = ajv.compile(schema as object);
    validators.set(key, validate);
  }
  expect
    .soft(validate(json) ? [] : validate.errors, `${where}: ${JSON.stringify(json).slice(0, 2000)}`)
    .toEqual([]);
  return { status: response.status, body: json };
}

describe('the OpenAPI document, against the running daemon', () => {
  it('describes every answer of every documented operation', async () => {
    const sessionId = (client.transport as { sessionId?: string } | undefined)?.sessionId;
    expect(sessionId).toBeTruthy();
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'hi' } });

    expect.soft((await call('GET', '/healthz')).status).toBe(200);
    expect.soft((await call('GET', '/readyz')).status).toBe(200);
    expect.soft((await call('GET', '/metrics')).status).toBe(200);
    expect.soft((await call('GET', '/api/openapi.json')).status).toBe(200);
    expect.soft((await call('GET', '/api/servers')).status).toBe(200);
    expect
      .soft((await call('POST', '/api/servers/{id}/start', '/api/servers/fixture/start')).status)
      .toBe(200);
    expect.soft((await call('POST', '/api/servers/{id}/start', '/api/servers/nope/start')).status).toBe(404);
    expect.soft((await call('GET', '/api/tools')).status).toBe(200);
    expect.soft((await call('GET', '/api/prompts')).status).toBe(200);
    expect.soft((await call('GET', '/api/resources')).status).toBe(200);
    const tool = '/api/tools/{name}/call';
    expect.soft((await call('POST', tool, '/api/tools/fixture__echo/call', { text: 'hi' })).status).toBe(200);
    expect.soft((await call('POST', tool, '/api/tools/fixture__nope/call', {})).status).toBe(404);
    expect.soft((await call('POST', tool, '/api/tools/fixture__echo/call', [1])).status).toBe(400);
    expect.soft((await call('GET', '/api/sessions')).status).toBe(200);
    expect.soft((await call('GET', '/api/sessions', '/api/sessions?state=open&limit=5')).status).toBe(200);
    expect.soft((await call('GET', '/api/sessions', '/api/sessions?limit=-1')).status).toBe(400);
    expect.soft((await call('GET', '/api/sessions/{id}', `/api/sessions/${sessionId}`)).status).toBe(200);
    expect.soft((await call('GET', '/api/sessions/{id}', '/api/sessions/nope')).status).toBe(404);
    expect.soft((await call('GET', '/api/requests')).status).toBe(200);
    expect
      .soft((await call('GET', '/api/requests', '/api/requests?server=fixture&limit=1')).status)
      .toBe(200);
    expect.soft((await call('GET', '/api/requests', '/api/requests?since=yesterday')).status).toBe(400);
    expect.soft((await call('GET', '/api/reload')).status).toBe(200);
    expect.soft((await call('POST', '/api/reload')).status).toBe(200);
    expect.soft((await call('GET', '/api/reload')).status).toBe(200);
    writeFileSync(path.join(gateway.dir, 'servers.yaml'), `${CONFIG}\n  broken: [`);
    expect.soft((await call('POST', '/api/reload')).status).toBe(422);
    writeFileSync(path.join(gateway.dir, 'servers.yaml'), CONFIG);
    expect.soft((await call('GET', '/api/quarantine')).status).toBe(200);
    const approve = '/api/servers/{id}/approve';
    expect.soft((await call('POST', approve, '/api/servers/fixture/approve', {})).status).toBe(409);
    expect.soft((await call('POST', '/api/servers/{id}/start', '/api/servers/held/start')).status).toBe(200);
    const held = await call('GET', '/api/quarantine');
    expect.soft((held.body as { items: unknown[] }).items.length).toBeGreaterThan(0);
    expect.soft((await call('POST', approve, '/api/servers/held/approve', {})).status).toBe(200);
    expect
      .soft((await call('POST', approve, '/api/servers/fixture/approve', { items: ['nothing'] })).status)
      .toBe(409);
    expect.soft((await call('POST', approve, '/api/servers/nope/approve', {})).status).toBe(404);
    const login = '/api/servers/{id}/login';
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect.soft((await call(method, login, '/api/servers/fixture/login')).status).toBe(404);
    }
    expect.soft((await call('GET', '/api/audit')).status).toBe(200);
    expect.soft((await call('GET', '/api/audit', '/api/audit?event=nope')).status).toBe(400);
    expect.soft((await call('POST', '/api/servers/{id}/stop', '/api/servers/fixture/stop')).status).toBe(200);
    expect.soft((await call('POST', '/api/servers/{id}/stop', '/api/servers/nope/stop')).status).toBe(404);
    expect.soft((await call('GET', '/api/events')).status).toBe(200);

    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter(key => ['get', 'post', 'delete', 'put', 'patch'].includes(key))
        .map(method => `${method.toUpperCase()} ${path}`)
    );
    expect([...called].sort()).toEqual(documented.sort());
  }, 60_000);
});
