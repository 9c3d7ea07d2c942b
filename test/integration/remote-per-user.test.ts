import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { runLogin } from '../../src/login-command.js';
import { CLI, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';
import { ConsentBrowser } from '../support/oauth-test-client.js';
import { ProtectedRemote } from '../support/protected-remote.js';

/**
 * Per-user credentials to a remote server, with real parts: a gateway in `auth.mode: oauth`
 * (oidc-provider) serves the fixture server as the protected remote server; a second gateway, in
 * `auth.mode: token`, has it as a `url:` server with `credentials: per-user`, and two principals
 * (two non-admin tokens) each log in to it on their own, their browser being plain fetch through
 * the remote's consent page. The remote's grants (`token list`) tell its callers apart.
 */

const PASSWORD = 'correct horse battery staple';

let remote: ProtectedRemote;
let remoteOrigin: string;
let ours: GatewayProcess;
let ourState: string;
let ourOrigin: string;
const token: Record<'alice' | 'bob', string> = { alice: '', bob: '' };
const clients: Client[] = [];

function cli(stateDir: string, args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    input,
    timeout: 20_000
  });
}

/** The ids of the remote's grants to the gateway (one per login). */
function remoteGrants(): string[] {
  return remote.grants();
}

async function clientOf(who: keyof typeof token): Promise<Client> {
  const client = new Client({ name: `per-user-${who}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(ours.url, {
      requestInit: { headers: { authorization: `Bearer ${token[who]}` } }
    })
  );
  clients.push(client);
  return client;
}

/** What `who`'s call of the remote echo answers: its text, or the error's message. */
async function echoAs(who: keyof typeof token, text: string): Promise<string> {
  const client = await clientOf(who);
  return client
    .callTool({ name: 'docs__fixture__echo', arguments: { text } })
    .then(result => (result.isError ? `tool error: ${textOf(result)}` : textOf(result)))
    .catch((error: Error) => error.message);
}

/** `who`'s own login to the docs server through the API, with its own (non-admin) token. */
async function loginApi(who: keyof typeof token, method: 'GET' | 'POST' | 'DELETE', server = 'docs') {
  const response = await fetch(`${ourOrigin}/api/servers/${server}/login`, {
    method,
    headers: { authorization: `Bearer ${token[who]}` }
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The browser: approves on the remote's consent page, then comes back to this gateway's callback. */
async function approve(authorizationUrl: string): Promise<void> {
  const outcome = await new ConsentBrowser(remoteOrigin).approve(new URL(authorizationUrl), PASSWORD);
  expect(outcome.redirect?.origin, `ended on ${outcome.status} ${outcome.html.slice(0, 300)}`).toBe(
    ourOrigin
  );
  const page = await fetch(outcome.redirect!);
  expect(page.status, await page.text()).toBe(200);
}

/** The login URL a login_required message offers. */
function offeredUrl(message: string): string {
  const url = /open (\S+) in a browser/.exec(message)?.[1];
  expect(url, message).toBeDefined();
  return url!;
}

beforeAll(async () => {
  remote = await ProtectedRemote.start(PASSWORD);
  remoteOrigin = remote.origin;

  ourState = mkdtempSync(path.join(tmpdir(), 'per-user-gateway-'));
  for (const who of ['alice', 'bob'] as const) {
    const created = cli(ourState, ['token', 'create', '--name', who]);
    expect(created.status, created.stderr).toBe(0);
    token[who] = created.stdout.split('\n')[0]!;
  }
  ours = await GatewayProcess.start(
    `
gateway:
  auth: { mode: token }
servers:
  docs:
    url: ${remoteOrigin}/mcp
    auth: oauth
    credentials: per-user
  team:
    url: ${remoteOrigin}/mcp
    auth: oauth
`,
    { stateDir: ourState }
  );
  ourOrigin = ours.url.origin;
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await ours?.dispose();
  await remote?.dispose();
  if (ourState) rmSync(ourState, { recursive: true, force: true });
});

describe('a remote server with per-user credentials', () => {
  it('lists nothing and starts nothing before any login, and /healthz says it needs one', async () => {
    const health = (await (await fetch(`${ourOrigin}/healthz`)).json()) as {
      needsLogin: { server: string }[];
    };
    expect(health.needsLogin.map(entry => entry.server)).toEqual(['docs']);
    const { tools } = await (await clientOf('alice')).listTools();
    expect(tools.filter(tool => tool.name.startsWith('docs__'))).toEqual([]);
    expect(ours.logs.filter(line => line.server === 'docs' && line.msg === 'server ready')).toEqual([]);
  });

  it("offers a principal its own login URL in its first call's error; after it, the call is its own", async () => {
    const refused = await echoAs('alice', 'first');
    expect(refused).toContain('needs an OAuth login for token:alice');
    expect(refused).toContain('mcp-gateway login docs');
    await approve(offeredUrl(refused));

    // The login listed the server over alice's new connection, before any call: the catalog has
    // it now, for everyone.
    const bob = await clientOf('bob');
    await waitUntil(async () =>
      (await bob.listTools()).tools.some(tool => tool.name === 'docs__fixture__echo')
    );
    expect(await echoAs('alice', 'as alice')).toBe('as alice');
    expect(remoteGrants()).toHaveLength(1);
    const health = (await (await fetch(`${ourOrigin}/healthz`)).json()) as { needsLogin: unknown[] };
    expect(health.needsLogin).toEqual([]);
  });

  it("never serves one principal's call with another's login, nor lets it see or forget another's", async () => {
    const refused = await echoAs('bob', 'not with alice');
    expect(refused).toContain('needs an OAuth login for token:bob');
    expect(offeredUrl(refused)).not.toBe('');
    expect(await loginApi('bob', 'GET')).toMatchObject({ status: 200, body: { loggedIn: false } });
    expect(await loginApi('bob', 'DELETE')).toMatchObject({ status: 200, body: { forgotten: false } });
    expect(await loginApi('alice', 'GET')).toMatchObject({ status: 200, body: { loggedIn: true } });
    expect(await echoAs('alice', 'still alice')).toBe('still alice');
    // A non-admin reaches its own login to a per-user server only: the shared one stays admin's.
    expect((await loginApi('bob', 'POST', 'team')).status).toBe(403);
  });

  it('logs in a second principal through the API with its own token: two grants, each its own', async () => {
    const aliceGrant = remoteGrants()[0]!;
    const started = await loginApi('bob', 'POST');
    expect(started).toMatchObject({ status: 200, body: { login: { state: 'pending' } } });
    await approve(String(started.body.authorizationUrl));
    expect(await echoAs('bob', 'as bob')).toBe('as bob');
    const grants = remoteGrants();
    expect(grants).toHaveLength(2);

    // The remote revokes alice's grant: her calls need a login again, bob's are untouched.
    expect(remote.cli(['token', 'revoke', aliceGrant])).toMatchObject({ status: 0 });
    let aliceAnswer = '';
    await waitUntil(async () => {
      aliceAnswer = await echoAs('alice', 'revoked?');
      return aliceAnswer !== 'revoked?';
    }, 10_000);
    expect(aliceAnswer).toContain('needs an OAuth login for token:alice');
    expect(await echoAs('bob', 'bob goes on')).toBe('bob goes on');

    // Alice logs in again from her error's URL.
    await approve(offeredUrl(await echoAs('alice', 'again')));
    expect(await echoAs('alice', 'alice is back')).toBe('alice is back');
  });

  it("a principal's logout leaves the other's login working", async () => {
    expect(await loginApi('bob', 'DELETE')).toMatchObject({ status: 200, body: { forgotten: true } });
    expect(await echoAs('bob', 'logged out')).toContain('needs an OAuth login for token:bob');
    expect(await echoAs('alice', 'alice stays')).toBe('alice stays');
  });

  it('logs a principal in with `mcp-gateway login SERVER --token <its own token>`', async () => {
    let printed = '';
    let notes = '';
    const login = runLogin(
      { action: 'login', server: 'docs', gateway: ourOrigin, token: token.bob, pollMs: 50, waitMs: 30_000 },
      { out: text => (printed += text), err: text => (notes += text) }
    );
    await waitUntil(() => printed.includes('\n'), 10_000);
    await approve(printed.trim());
    await expect(login).resolves.toBe(0);
    expect(notes).toContain('logged in');
    expect(await echoAs('bob', 'bob is back')).toBe('bob is back');
    expect(await echoAs('alice', 'alice too')).toBe('alice too');
  });
});
