import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Client } from '@modelcontextprotocol/client';
import { CLI, connect, FIXTURE_SERVER, GatewayProcess, ROOT } from '../support/gateway-process.js';

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
    // Non-empty, so the item schemas are exercised.
    const listed = async (route: string, key: string) =>
      ((await call('GET', route)).body as Record<string, unknown[]>)[key]?.length;
    expect.soft(await listed('/api/tools', 'tools')).toBeGreaterThan(0);
    expect.soft(await listed('/api/prompts', 'prompts')).toBeGreaterThan(0);
    expect.soft(await listed('/api/resources', 'resources')).toBeGreaterThan(0);
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
    // A tool held back until approved is refused, as documented.
    expect.soft((await call('POST', tool, '/api/tools/held__echo/call', { text: 'hi' })).status).toBe(403);
    expect.soft((await call('POST', approve, '/api/servers/held/approve', {})).status).toBe(200);
    expect
      .soft((await call('POST', approve, '/api/servers/fixture/approve', { items: ['nothing'] })).status)
      .toBe(409);
    expect.soft((await call('POST', approve, '/api/servers/nope/approve', {})).status).toBe(404);
    const login = '/api/servers/{id}/login';
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect.soft((await call(method, login, '/api/servers/fixture/login')).status).toBe(404);
    }
    // A token, made as an operator would, so that the list's item schema is exercised too.
    const made = spawnSync(
      process.execPath,
      [
        CLI,
        'token',
        'create',
        '--name',
        'listed',
        '--servers',
        'fixture',
        '--state-dir',
        path.join(gateway.dir, 'data')
      ],
      { encoding: 'utf8', timeout: 20_000 }
    );
    expect(made.status, made.stderr).toBe(0);
    const tokens = (await call('GET', '/api/tokens')).body as { tokens: { id: string }[] };
    expect.soft(tokens.tokens).toHaveLength(1);
    const revoke = '/api/tokens/{id}';
    expect.soft((await call('DELETE', revoke, `/api/tokens/${tokens.tokens[0]!.id}`)).status).toBe(200);
    expect.soft((await call('DELETE', revoke, `/api/tokens/${tokens.tokens[0]!.id}`)).status).toBe(404);
    expect.soft((await call('GET', '/api/audit')).status).toBe(200);
    expect.soft((await call('GET', '/api/audit', '/api/audit?event=nope')).status).toBe(400);
    expect.soft((await call('POST', '/api/servers/{id}/stop', '/api/servers/fixture/stop')).status).toBe(200);
    expect.soft((await call('POST', '/api/servers/{id}/stop', '/api/servers/nope/stop')).status).toBe(404);
    expect.soft((await call('GET', '/api/events')).status).toBe(200);

    // A 404 says what to do: where the list of what exists is.
    const messageOf = async (route: string, method = 'GET') =>
      (
        (await (await fetch(new URL(route, gateway.url), { method })).json()) as {
          error: { message: string };
        }
      ).error.message;
    expect(await messageOf('/api/servers/nope/start', 'POST')).toContain('GET /api/servers lists');
    expect(await messageOf('/api/servers/nope/approve', 'POST')).toContain('GET /api/servers lists');
    expect(await messageOf('/api/sessions/nope')).toContain('GET /api/sessions lists');
    expect(await messageOf('/api/nothing', 'PUT')).toContain('PUT /api/nothing; GET /api/openapi.json lists');
    expect(await messageOf('/api/servers', 'PUT')).toBe(
      'PUT is not a method of /api/servers; it takes GET, HEAD'
    );

    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter(key => ['get', 'post', 'delete', 'put', 'patch'].includes(key))
        .map(method => `${method.toUpperCase()} ${path}`)
    );
    expect([...called].sort()).toEqual(documented.sort());
  }, 60_000);

  it('is what the README lists: every /api route has a row there', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const route of Object.keys(document.paths).filter(route => route.startsWith('/api/'))) {
      const written = route.replace(/\{([^}]+)\}/g, ':$1').replace(/[.]/g, '\\.');
      expect.soft(readme, route).toMatch(new RegExp(`\`(?:GET|POST|DELETE)[^\`]* ${written}[?\`]`));
    }
  });

  it('serves every metric the README names, with the labels it names, under Prometheus names', async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const named = new Set(
      [...readme.matchAll(/`(mcp_gateway_[a-z_]+)(?:\{[^}]*\})?`/g)].map(match => match[1]!)
    );
    expect(named.size).toBeGreaterThan(5);
    const text = await (await fetch(new URL('/metrics', gateway.url))).text();
    const types = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(match => [match[1]!, match[2]!] as const)
    );
    for (const name of named) expect.soft(types.has(name), `${name} is served`).toBe(true);
    // The Node.js process metrics are prom-client's own (its gauges nodejs_active_*_total among them).
    const own = [...types].filter(([name]) => !/^mcp_gateway_(process|nodejs)_/.test(name));
    expect(own.length).toBeGreaterThan(5);
    for (const [name, type] of own) {
      if (type === 'counter') expect.soft(name, 'a counter ends in _total').toMatch(/_total$/);
      else expect.soft(name, `a ${type} does not end in _total`).not.toMatch(/_total$/);
    }
    // The labels the README names, on the samples the calls above made.
    const labels = (metric: string) =>
      [...text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\}`, 'gm'))].map(match =>
        [...match[1]!.matchAll(/(\w+)="/g)].map(label => label[1]).sort()
      );
    expect(labels('mcp_gateway_calls_total')).toContainEqual(['outcome', 'server', 'tool']);
    expect(labels('mcp_gateway_call_duration_seconds_count')).toContainEqual(['server']);
    expect(labels('mcp_gateway_server_starts_total')).toContainEqual(['server']);
    expect(labels('mcp_gateway_quarantined')).toContainEqual(['server']);
    // No label carries a session id or a call's arguments: every label name is one of these.
    const allowed = new Set([
      'server',
      'tool',
      'outcome',
      'le',
      'version',
      'major',
      'minor',
      'patch',
      'type',
      'kind',
      'space'
    ]);
    for (const match of text.matchAll(/^[a-z_]+\{([^}]*)\}/gm)) {
      for (const label of match[1]!.matchAll(/(\w+)="/g)) expect.soft(allowed, match[0]).toContain(label[1]);
    }
  });
});
