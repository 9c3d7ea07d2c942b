import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  CLI,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  textOf,
  waitUntil
} from '../support/gateway-process.js';
import { rawModernRequest } from '../support/raw-session.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  return dir;
}

/** Runs `mcp-gateway …` against a state directory and returns its output. */
function cli(stateDir: string, args: string[], input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    input,
    timeout: 20_000
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function createToken(stateDir: string, ...args: string[]): string {
  const result = cli(stateDir, ['token', 'create', ...args]);
  expect(result.status, result.stderr).toBe(0);
  const secret = result.stdout.split('\n')[0]!;
  expect(secret).toMatch(/^mgw_[A-Za-z0-9_-]{43}$/);
  return secret;
}

async function start(config: string, stateDir: string, args: string[] = []): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(config, { stateDir, args });
  cleanups.push(() => gateway.dispose());
  return gateway;
}

async function clientWith(
  gateway: GatewayProcess,
  token: string | undefined,
  era: 'legacy' | 'modern' = 'legacy'
) {
  const client = new Client(
    { name: 'auth-test', version: '1.0.0' },
    { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(gateway.url, {
      requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : {}
    })
  );
  cleanups.push(() => client.close());
  return client;
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
});

function post(gateway: GatewayProcess, headers: Record<string, string> = {}, body = INIT, query = '') {
  return fetch(new URL(`/mcp${query}`, gateway.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers
    },
    body
  });
}

function config(auth: string, extra = '', serverExtra = ''): string {
  return `
gateway:
  auth: { mode: ${auth} }
${extra}
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
${serverExtra}
  other:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;
}

describe('who may start the gateway', () => {
  it('refuses to serve beyond loopback without authentication, unless told to', async () => {
    const stateDir = tempDir('state-');
    const file = path.join(stateDir, 'servers.yaml');
    writeFileSync(file, 'servers: {}\n');
    const refused = spawnSync(
      process.execPath,
      [CLI, 'serve', '--config', file, '--state-dir', stateDir, '--host', '0.0.0.0', '--port', '0'],
      { encoding: 'utf8', timeout: 20_000 }
    );
    expect(refused.status).toBe(78);
    expect(refused.stderr).toContain('refusing to serve 0.0.0.0 without authentication');
    expect(refused.stderr).toContain('--allow-unauthenticated');

    const allowed = await start('servers: {}\n', stateDir, ['--host', '0.0.0.0', '--allow-unauthenticated']);
    await allowed.waitForLog(line =>
      String(line.msg).includes('without authentication (--allow-unauthenticated)')
    );
    expect((await fetch(new URL('/healthz', `http://127.0.0.1:${allowed.url.port}`))).status).toBe(200);
  });
});

describe('bearer tokens', () => {
  it('lets in valid tokens only, scopes what a token sees, and audits refusals', async () => {
    const stateDir = tempDir('state-');
    const full = createToken(stateDir, '--name', 'full');
    const scoped = createToken(
      stateDir,
      '--name',
      'echo-only',
      '--servers',
      'fixture',
      '--tools',
      'fixture__echo,fixture__pid'
    );
    const admin = createToken(stateDir, '--name', 'ops', '--admin');
    const gateway = await start(config('token'), stateDir);

    const anonymous = await post(gateway);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm="mcp-gateway"/);
    const wrong = await post(gateway, { authorization: 'Bearer mgw_not-a-real-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(wrong.headers.get('www-authenticate')).toContain(
      'error_description="unknown token: this gateway issued none such (mistyped, or made for another state directory); \'mcp-gateway token list\' shows its tokens"'
    );
    const inQuery = await post(gateway, {}, INIT, `?access_token=${full}`);
    expect(inQuery.status).toBe(400);
    expect(await inQuery.text()).toContain('not accepted in the query string');

    for (const era of ['legacy', 'modern'] as const) {
      const client = await clientWith(gateway, full, era);
      const names = (await client.listTools()).tools.map(tool => tool.name);
      expect(names).toEqual(expect.arrayContaining(['fixture__echo', 'other__echo', 'fixture__slow']));
      expect(textOf(await client.callTool({ name: 'other__echo', arguments: { text: era } }))).toBe(era);

      const limited = await clientWith(gateway, scoped, era);
      expect((await limited.listTools()).tools.map(tool => tool.name).sort()).toEqual([
        'fixture__echo',
        'fixture__pid'
      ]);
      expect(textOf(await limited.callTool({ name: 'fixture__echo', arguments: { text: 'in scope' } }))).toBe(
        'in scope'
      );
      await expect(limited.callTool({ name: 'other__echo', arguments: { text: 'x' } })).rejects.toMatchObject(
        {
          code: -32602,
          message: expect.stringContaining('outside the scope of token:echo-only')
        }
      );
    }

    // /api and /metrics: admins only; /healthz stays open.
    expect((await fetch(new URL('/api/servers', gateway.url))).status).toBe(401);
    const notAdmin = await fetch(new URL('/api/servers', gateway.url), {
      headers: { authorization: `Bearer ${full}` }
    });
    expect(notAdmin.status).toBe(403);
    expect(
      (await fetch(new URL('/metrics', gateway.url), { headers: { authorization: `Bearer ${full}` } })).status
    ).toBe(403);
    const asAdmin = { headers: { authorization: `Bearer ${admin}` } };
    expect((await fetch(new URL('/api/servers', gateway.url), asAdmin)).status).toBe(200);
    expect((await fetch(new URL('/metrics', gateway.url), asAdmin)).status).toBe(200);
    expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);

    const audit = (await (
      await fetch(new URL('/api/audit?event=auth_failed', gateway.url), asAdmin)
    ).json()) as {
      entries: { event: string; detail: { reason: string } }[];
    };
    const reasons = audit.entries.map(entry => entry.detail.reason);
    expect(reasons).toContain('authentication required');
    expect(reasons.some(reason => reason.startsWith('unknown token: '))).toBe(true);
    expect(reasons.some(reason => reason.includes('query string'))).toBe(true);
    expect(reasons.some(reason => reason.includes('may not use the admin API'))).toBe(true);
    const created = (await (
      await fetch(new URL('/api/audit?event=token_created', gateway.url), asAdmin)
    ).json()) as {
      entries: unknown[];
    };
    expect(created.entries).toHaveLength(3);
  });

  it("keeps a 2025-era session its opener's: another token gets 404 on GET, POST and DELETE", async () => {
    const stateDir = tempDir('state-');
    const owner = createToken(stateDir, '--name', 'owner');
    const intruder = createToken(stateDir, '--name', 'intruder');
    const gateway = await start(config('token'), stateDir);
    const opened = await post(gateway, { authorization: `Bearer ${owner}` });
    expect(opened.status).toBe(200);
    await opened.text();
    const session = opened.headers.get('mcp-session-id')!;
    expect(session).toBeTruthy();
    const as = (token: string, method: string, extra: Record<string, string> = {}, body?: string) =>
      fetch(new URL('/mcp', gateway.url), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'mcp-session-id': session,
          'mcp-protocol-version': '2025-11-25',
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          ...extra
        },
        body
      });
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    expect((await as(intruder, 'GET', { 'last-event-id': `${session}_0` })).status).toBe(404);
    expect((await as(intruder, 'POST', {}, ping)).status).toBe(404);
    expect((await as(intruder, 'DELETE')).status).toBe(404);
    const own = await as(owner, 'POST', {}, ping);
    expect(own.status).toBe(200);
    await own.text();
    expect((await as(owner, 'DELETE')).status).toBe(200);
  });

  it('marks 2026-era lists and discovery private, as what a token sees depends on its scope', async () => {
    const stateDir = tempDir('state-');
    const full = createToken(stateDir, '--name', 'full');
    const scoped = createToken(stateDir, '--name', 'pid-only', '--tools', 'fixture__pid');
    const gateway = await start(config('token'), stateDir);
    const answer = async (token: string, method: string) => {
      const response = await rawModernRequest(
        gateway.url,
        method,
        {},
        {
          headers: { authorization: `Bearer ${token}` }
        }
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { result: { tools?: { name: string }[]; cacheScope: string } })
        .result;
    };
    const [all, few] = [await answer(full, 'tools/list'), await answer(scoped, 'tools/list')];
    expect(few.tools!.map(tool => tool.name)).toEqual(['fixture__pid']);
    expect(all.tools!.length).toBeGreaterThan(1);
    for (const result of [all, few, await answer(full, 'server/discover')])
      expect(result).toMatchObject({ cacheScope: 'private', ttlMs: 0 });

    // The SDK's 2026-era client sends the standard headers the gateway checks.
    const client = await clientWith(gateway, scoped, 'modern');
    expect(client.getProtocolEra()).toBe('modern');
    expect((await client.listTools()).tools.map(tool => tool.name)).toEqual(['fixture__pid']);
  });

  it('refuses revoked and expired tokens, and token list shows their state', async () => {
    const stateDir = tempDir('state-');
    const doomed = createToken(stateDir, '--name', 'doomed');
    const gateway = await start(config('token'), stateDir);
    expect((await post(gateway, { authorization: `Bearer ${doomed}` })).status).toBe(200);
    // Made just before its first use (the gateway reads tokens as they come), so that its life is
    // not spent while the gateway starts on a loaded machine.
    const brief = createToken(stateDir, '--name', 'brief', '--expires', '5s');
    expect((await post(gateway, { authorization: `Bearer ${brief}` })).status).toBe(200);

    expect(cli(stateDir, ['token', 'revoke', 'doomed'])).toMatchObject({ status: 0 });
    await waitUntil(
      async () => (await post(gateway, { authorization: `Bearer ${doomed}` })).status === 401,
      5_000
    );
    const revoked = await post(gateway, { authorization: `Bearer ${doomed}` });
    expect(revoked.headers.get('www-authenticate')).toContain('is revoked');
    await waitUntil(
      async () => (await post(gateway, { authorization: `Bearer ${brief}` })).status === 401,
      10_000
    );

    const listing = cli(stateDir, ['token', 'list']);
    expect(listing.stdout).toMatch(/^doomed\t.*\trevoked /m);
    expect(listing.stdout).toMatch(/^brief\t.*\texpired /m);
    expect(listing.stdout).not.toContain('mgw_'); // secrets are never shown again
    expect(cli(stateDir, ['token', 'revoke', 'doomed'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('no active token')
    });
    expect(cli(stateDir, ['token', 'create', '--name', 'bad name!'])).toMatchObject({ status: 2 });
    expect(cli(stateDir, ['token', 'create', '--name', 'x', '--expires', 'soon'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--expires takes a number and a unit')
    });
  });

  it('ends the streams a token holds open once it is revoked: a session stream, /sse, /api/events', async () => {
    const stateDir = tempDir('state-');
    const user = createToken(stateDir, '--name', 'streamer');
    const admin = createToken(stateDir, '--name', 'watcher', '--admin');
    const keeper = createToken(stateDir, '--name', 'keeper', '--admin');
    const gateway = await start(config('token'), stateDir);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    const init = await post(gateway, bearer(user));
    expect(init.status).toBe(200);
    await init.text();
    const session = { ...bearer(user), 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect((await post(gateway, session, initialized)).status).toBe(202);
    const open = async (path: string, headers: Record<string, string>) => {
      const response = await fetch(new URL(path, gateway.url), {
        headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers }
      });
      expect(response.status, path).toBe(200);
      // Resolves only when the stream ends (a stream cut at the test's end counts as ended too).
      return response.text().catch(() => '');
    };
    const streams = {
      session: open('/mcp', session),
      sse: open('/sse', bearer(user)),
      events: open('/api/events', bearer(admin)),
      kept: open('/api/events', bearer(keeper))
    };
    const ended = new Set<string>();
    for (const [name, stream] of Object.entries(streams)) void stream.then(() => ended.add(name));
    await new Promise(resolve => setTimeout(resolve, 2_500)); // a round of checks passes them all
    expect([...ended]).toEqual([]);

    expect(cli(stateDir, ['token', 'revoke', 'streamer'])).toMatchObject({ status: 0 });
    expect(cli(stateDir, ['token', 'revoke', 'watcher'])).toMatchObject({ status: 0 });
    await waitUntil(() => ended.size === 3, 10_000);
    expect([...ended].sort()).toEqual(['events', 'session', 'sse']);

    // Each ending is audited; the stream of a token still valid stands.
    const audit = (await (
      await fetch(new URL('/api/audit?event=auth_failed', gateway.url), { headers: bearer(keeper) })
    ).json()) as { entries: { detail: { reason: string; path: string; stream?: string } }[] };
    const endings = audit.entries.filter(entry => entry.detail.stream === 'ended');
    expect(endings.map(entry => entry.detail.path).sort()).toEqual(['/api/events', '/mcp', '/sse']);
    expect(endings.map(entry => entry.detail.reason)).toContain('token "streamer" is revoked');
    expect(ended.has('kept')).toBe(false);
  });

  it('lists tokens and revokes one over the API, as an admin: refused from its next request, audited', async () => {
    const stateDir = tempDir('state-');
    const admin = createToken(stateDir, '--name', 'ops', '--admin');
    const doomed = createToken(stateDir, '--name', 'doomed', '--servers', 'fixture');
    const gateway = await start(config('token'), stateDir);
    const api = (route: string, token: string, method = 'GET') =>
      fetch(new URL(route, gateway.url), { method, headers: { authorization: `Bearer ${token}` } });
    expect((await api('/api/tokens', doomed)).status).toBe(403); // not an admin

    const listed = (await (await api('/api/tokens', admin)).json()) as {
      tokens: { id: string; name: string; servers: string[] | null; revokedAt: string | null }[];
      grants: unknown[];
    };
    expect(listed.grants).toEqual([]);
    expect(listed.tokens.map(token => token.name).sort()).toEqual(['doomed', 'ops']);
    expect(JSON.stringify(listed)).not.toContain('mgw_'); // never a secret
    const id = listed.tokens.find(token => token.name === 'doomed')!.id;
    expect(listed.tokens.find(token => token.id === id)).toMatchObject({
      servers: ['fixture'],
      revokedAt: null
    });

    expect((await post(gateway, { authorization: `Bearer ${doomed}` })).status).toBe(200);
    expect((await api('/api/tokens/doomed', admin, 'DELETE')).status).toBe(404); // by id only
    const revoked = await api(`/api/tokens/${id}`, admin, 'DELETE');
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: id, kind: 'token' });
    expect((await post(gateway, { authorization: `Bearer ${doomed}` })).status).toBe(401);
    const again = await api(`/api/tokens/${id}`, admin, 'DELETE');
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain(
      'GET /api/tokens lists them'
    );
    const audit = (await (await api('/api/audit?event=token_revoked', admin)).json()) as {
      entries: { principal: string; detail: unknown }[];
    };
    expect(audit.entries).toEqual([
      expect.objectContaining({ principal: 'token:ops', detail: { token: id } })
    ]);
  });
});

describe('limits', () => {
  it('rate-limits a principal with 429 and Retry-After', async () => {
    const stateDir = tempDir('state-');
    const gateway = await start(config('none', '  limits: { requestsPerMinute: 5 }'), stateDir);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const response = await fetch(new URL('/api/servers', gateway.url));
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
      await response.body?.cancel();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('caps sessions per principal by closing its least recently used one', async () => {
    const stateDir = tempDir('state-');
    const gateway = await start(config('none', '  limits: { sessionsPerPrincipal: 2 }'), stateDir);
    const first = await post(gateway);
    expect(first.status).toBe(200);
    expect((await post(gateway)).status).toBe(200);
    expect((await post(gateway)).status).toBe(200);
    expect((await gateway.health()).sessions).toBe(2);
    await gateway.waitForLog(
      line =>
        line.session === first.headers.get('mcp-session-id') && String(line.msg).startsWith('session evicted')
    );
  });

  it('answers "server busy" past maxConcurrency and the queue, and keeps serving', async () => {
    const stateDir = tempDir('state-');
    const gateway = await start(config('none', '', '    maxConcurrency: 1\n    maxQueue: 1'), stateDir);
    const client = await clientWith(gateway, undefined);
    const first = client.callTool({ name: 'fixture__slow', arguments: { ms: 3_000 } });
    // The first call holds the one slot (health counts it in flight from then to its end).
    const fixture = async () =>
      (await gateway.health()).servers.find(server => server.id === 'fixture') as
        { inFlight: number } | undefined;
    await waitUntil(async () => (await fixture())?.inFlight === 1, 10_000);
    // Two more while it runs: whichever the gateway sees first waits in the queue, the other finds
    // the queue full (which of them that is, nothing outside the gateway can tell in advance).
    const settled = await Promise.allSettled([
      client.callTool({ name: 'fixture__slow', arguments: { ms: 10 } }),
      client.callTool({ name: 'fixture__echo', arguments: { text: 'x' } })
    ]);
    expect(settled.filter(outcome => outcome.status === 'rejected')).toEqual([
      {
        status: 'rejected',
        reason: expect.objectContaining({
          message: expect.stringContaining('server fixture is busy: 1 calls in flight and 1 waiting')
        })
      }
    ]);
    const served = settled.findIndex(outcome => outcome.status === 'fulfilled');
    expect(settled[served]).toMatchObject({
      value: { content: [{ text: served === 0 ? 'slept 10' : 'x' }] }
    });
    await expect(first).resolves.toMatchObject({ content: [{ text: 'slept 3000' }] });
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'after' } }))).toBe(
      'after'
    );
  });

  it('checks arguments against the input schema before starting anything', async () => {
    const stateDir = tempDir('state-');
    const tag = marker();
    const gateway = await start(
      `
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
`,
      stateDir
    );
    await gateway.discovered();
    await waitUntil(() => processesWith(tag).length === 0);
    const client = await clientWith(gateway, undefined);
    const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 42 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid arguments for fixture__echo: .*text/);
    const missing = await client.callTool({ name: 'fixture__echo', arguments: {} });
    expect(missing.isError).toBe(true);
    expect(processesWith(tag)).toHaveLength(0);
    await expect(client.callTool({ name: 'fixture__unknown', arguments: {} })).rejects.toMatchObject({
      code: -32602
    });
  });

  it('replaces a result over maxResultBytes with a tool error', async () => {
    const stateDir = tempDir('state-');
    const gateway = await start(config('none', '  limits: { maxResultBytes: 200 }'), stateDir);
    const client = await clientWith(gateway, undefined);
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'small' } }))).toBe(
      'small'
    );
    const big = await client.callTool({ name: 'fixture__echo', arguments: { text: 'x'.repeat(500) } });
    expect(big.isError).toBe(true);
    expect(textOf(big)).toContain("over the gateway's limit of 200 bytes");
  });
});

describe('secrets', () => {
  it('never show environment values in logs, the API or errors', async () => {
    const stateDir = tempDir('state-');
    const secret = 'SUPERSECRET-8c1f2e';
    const fromFile = 'FILESECRET-77aa01';
    writeFileSync(path.join(stateDir, 'fixture.env'), `FILE_KEY=${fromFile}\n`);
    const gateway = await start(
      `
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env: { API_KEY: "${secret}" }
    envFile: ${path.join(stateDir, 'fixture.env')}
    callTimeout: 1
  broken:
    command: ["/nonexistent/mcp-server"]
    env: { API_KEY: "${secret}" }
`,
      stateDir
    );
    const client = await clientWith(gateway, undefined);
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'x' } });
    await client.callTool({ name: 'fixture__slow', arguments: { ms: 5_000 } }).catch(() => undefined);
    await client.callTool({ name: 'broken__x', arguments: {} }).catch(() => undefined);
    const api = await Promise.all(
      ['/api/servers', '/api/tools', '/api/requests', '/api/sessions', '/healthz', '/metrics'].map(
        async route => (await fetch(new URL(route, gateway.url))).text()
      )
    );
    const logs = gateway.stderrText.join('\n');
    for (const text of [...api, logs]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(fromFile);
    }
    expect(logs).toContain('cannot run /nonexistent/mcp-server'); // the errors were logged, without the values
  });

  it('validate warns when a config holding secrets, or an env file, is readable by others', () => {
    const dir = tempDir('cfg-');
    const file = path.join(dir, 'servers.yaml');
    const envFile = path.join(dir, 'x.env');
    writeFileSync(envFile, 'A=b\n');
    writeFileSync(
      file,
      `servers:\n  x:\n    command: ["x"]\n    env: { KEY: "literal" }\n    envFile: x.env\n`
    );
    chmodSync(file, 0o644);
    chmodSync(envFile, 0o640);
    const loose = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8' });
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain(
      `${file} holds environment values and is readable by other users (mode 644)`
    );
    expect(loose.stderr).toContain(`${envFile} holds an env file and is readable by other users (mode 640)`);
    chmodSync(file, 0o600);
    chmodSync(envFile, 0o600);
    const tight = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8' });
    expect(tight.stderr).not.toContain('readable by other users');
  });
});
