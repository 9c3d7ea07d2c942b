import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { DatabaseSync } from 'node:sqlite';
import express, { type ErrorRequestHandler } from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { RemoteLogins, type OAuthServer } from '../../src/connectors/oauth/remote-logins.js';
import { apiErrorOf } from '../../src/http/api/api-error.js';
import { createLoginRoutes } from '../../src/http/api/login-routes.js';
import {
  CALLBACK_PATH,
  createRemoteOAuthRouter,
  gatewayClientAt
} from '../../src/http/remote-oauth/remote-oauth-router.js';
import { runLogin } from '../../src/login-command.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { loadCredentialKey } from '../../src/store/credential-key.js';
import { openDatabase } from '../../src/store/database.js';
import { RemoteCredentialStore } from '../../src/store/remote-credential-store.js';
import { CLI, textOf, waitUntil } from '../support/gateway-process.js';
import { ConsentBrowser } from '../support/oauth-test-client.js';
import { ProtectedRemote } from '../support/protected-remote.js';

/**
 * The gateway as OAuth client of a remote MCP server, against a real authorization server: a
 * second gateway in `auth.mode: oauth` (oidc-provider) serving the fixture server as the
 * protected resource. This side's login routes, provider and encrypted store run in-process
 * on a port of their own (the wiring into `url:` servers is not part of this); the browser is
 * plain fetch through the remote's consent page.
 */

const PASSWORD = 'correct horse battery staple';
const SHARED = {
  clientId: undefined,
  clientSecret: undefined,
  scope: undefined,
  credentials: 'shared'
} as const;

let remote: ProtectedRemote;
let remoteState: string;
let remoteOrigin: string;
let ourState: string;
let ourDb: DatabaseSync;
let ourServer: Server;
let ourOrigin: string;
let relay: Server;
let logins: RemoteLogins;
/** What this side's logins logged. */
const logLines: { msg: string; server?: string; err?: string }[] = [];
/** Added to the clock of this side's logins: moves time forward to near a token's expiry. */
let clockOffset = 0;

function remoteCli(args: string[], input?: string) {
  return remote.cli(args, input);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  remote = await ProtectedRemote.start(PASSWORD);
  remoteState = remote.stateDir;
  remoteOrigin = remote.origin;

  // This gateway's side: the credential store in its own state directory, the routes, the logins.
  ourState = mkdtempSync(path.join(tmpdir(), 'remote-oauth-client-'));
  ourDb = openDatabase(ourState);
  const app = express();
  let origin = '';
  const client = gatewayClientAt(() => origin);
  logins = new RemoteLogins({
    store: new RemoteCredentialStore(ourDb, () => loadCredentialKey(ourState)),
    client,
    log: pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
    now: () => Date.now() + clockOffset
  });
  logins.register({ id: 'docs', url: new URL(`${remoteOrigin}/mcp`), oauth: SHARED });
  app.use(createRemoteOAuthRouter(logins, client));
  app.use('/api/servers', createLoginRoutes(logins, new AuditLog(ourDb)));
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const answer = apiErrorOf(error);
    res.status(answer.status).json(answer.body);
  };
  app.use(onError);
  ourServer = createHttpServer(app);
  ourOrigin = origin = await listen(ourServer);

  // A server that asks for a token minted for the remote gateway: its 401 names the remote's
  // protected resource metadata, whose resource is not this server.
  relay = createHttpServer((_req, res) => {
    res
      .writeHead(401, {
        'www-authenticate': `Bearer resource_metadata="${remoteOrigin}/.well-known/oauth-protected-resource/mcp"`
      })
      .end();
  });
  logins.register({ id: 'relay', url: new URL(`${await listen(relay)}/mcp`), oauth: SHARED });
});

afterAll(async () => {
  await remote?.dispose();
  await new Promise(resolve => ourServer?.close(resolve));
  await new Promise(resolve => relay?.close(resolve));
  ourDb?.close();
  for (const dir of [ourState]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The approval in the browser: the consent page, then the redirect to this gateway's callback (not followed). */
async function approve(authorizationUrl: string): Promise<URL> {
  const outcome = await new ConsentBrowser(remoteOrigin).approve(new URL(authorizationUrl), PASSWORD);
  expect(outcome.redirect?.origin, `ended on ${outcome.status} ${outcome.html.slice(0, 300)}`).toBe(
    ourOrigin
  );
  return outcome.redirect!;
}

async function connect(server: OAuthServer['id'] = 'docs'): Promise<Client> {
  const client = new Client({ name: 'remote-oauth-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${remoteOrigin}/mcp`), {
      authProvider: logins.provider(server)
    })
  );
  return client;
}

function storedTokens(): { tokens: { access_token: string; refresh_token?: string } } | undefined {
  return new RemoteCredentialStore(ourDb, () => loadCredentialKey(ourState)).read(
    { serverId: 'docs', principal: '' },
    'tokens'
  ) as { tokens: { access_token: string; refresh_token?: string } } | undefined;
}

describe('the gateway as OAuth client of a remote server', () => {
  it('refuses calls before any login, saying to run the login command', async () => {
    await expect(connect()).rejects.toMatchObject({
      code: 'login_required',
      message: expect.stringContaining('mcp-gateway login docs')
    });
  });

  it('logs in with `login` (discovery, registration, PKCE S256, resource), then calls a tool', async () => {
    let printed = '';
    let notes = '';
    const login = runLogin(
      { action: 'login', server: 'docs', gateway: ourOrigin, token: undefined, pollMs: 50, waitMs: 30_000 },
      { out: text => (printed += text), err: text => (notes += text) }
    );
    await waitUntil(() => printed.includes('\n'), 10_000);
    const authorizationUrl = new URL(printed.trim());
    expect(authorizationUrl.origin).toBe(remoteOrigin);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorizationUrl.searchParams.get('resource')).toBe(`${remoteOrigin}/mcp`);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${ourOrigin}${CALLBACK_PATH}`);
    expect(authorizationUrl.searchParams.get('state')).toBeTruthy();
    // Registered dynamically: the remote's loopback http origin rules out a metadata document URL.
    expect(authorizationUrl.searchParams.get('client_id')).not.toMatch(/^https?:/);

    const callback = await approve(authorizationUrl.href);
    expect(callback.searchParams.get('iss')).toBe(remoteOrigin);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('logged in to server “docs”');
    await expect(login).resolves.toBe(0);
    expect(notes).toContain('logged in');
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'OAuth login to a remote server completed', server: 'docs' })
    );
    expect(storedTokens()?.tokens.refresh_token).toBeTruthy();

    const client = await connect();
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'via oauth' } }))).toBe(
      'via oauth'
    );
    await client.close();
  });

  it('refreshes a token near its expiry before using it', async () => {
    const before = storedTokens()!.tokens;
    // The remote's access tokens live 10 minutes: 9.5 minutes on, one is within the refresh margin.
    clockOffset = 9.5 * 60_000;
    try {
      const client = await connect();
      expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'fresh' } }))).toBe(
        'fresh'
      );
      await client.close();
    } finally {
      clockOffset = 0;
    }
    const after = storedTokens()!.tokens;
    expect(after.access_token).not.toBe(before.access_token);
    // The remote rotates refresh tokens: the old one is spent, so the new one must have been stored.
    expect(after.refresh_token).not.toBe(before.refresh_token);
  });

  it('refreshes once at a time when concurrent calls are refused, so a rotated refresh token is never reused', async () => {
    const client = await connect();
    // The access token stops being accepted while the refresh token stays good: every call in
    // flight gets a 401 and asks for a refresh. Presenting a spent refresh token twice would make
    // the remote revoke the whole grant (reuse detection).
    const record = storedTokens()!;
    new RemoteCredentialStore(ourDb, () => loadCredentialKey(ourState)).write(
      { serverId: 'docs', principal: '' },
      'tokens',
      { ...record, tokens: { ...record.tokens, access_token: 'no-longer-accepted' } }
    );
    const texts = await Promise.all(
      ['one', 'two', 'three'].map(async text =>
        textOf(await client.callTool({ name: 'fixture__echo', arguments: { text } }))
      )
    );
    expect(texts).toEqual(['one', 'two', 'three']);
    await client.close();
    const again = await connect();
    expect(textOf(await again.callTool({ name: 'fixture__echo', arguments: { text: 'still' } }))).toBe(
      'still'
    );
    await again.close();
  });

  it('fails calls with login_required once the remote revokes the grant, and forgets the dead tokens', async () => {
    const grant = /^oauth:mcp-gateway\t(\S+)\t/m.exec(remoteCli(['token', 'list']).stdout);
    expect(grant).not.toBeNull();
    expect(remoteCli(['token', 'revoke', grant![1]!])).toMatchObject({ status: 0 });
    const token = storedTokens()!.tokens.access_token;
    await waitUntil(async () => {
      const response = await fetch(`${remoteOrigin}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}'
      });
      await response.body?.cancel();
      return response.status === 401;
    }, 5_000);

    await expect(connect()).rejects.toMatchObject({
      code: 'login_required',
      message: expect.stringContaining('Run `mcp-gateway login docs`')
    });
    expect(storedTokens()).toBeUndefined();
    const status = (await (await fetch(`${ourOrigin}/api/servers/docs/login`)).json()) as {
      loggedIn: boolean;
    };
    expect(status.loggedIn).toBe(false);
  });

  it('refuses a callback whose iss is not the authorization server it asked (RFC 9207)', async () => {
    const started = (await (
      await fetch(`${ourOrigin}/api/servers/docs/login`, { method: 'POST' })
    ).json()) as {
      authorizationUrl: string;
    };
    const callback = await approve(started.authorizationUrl);
    callback.searchParams.set('iss', 'https://attacker.example');
    const page = await fetch(callback);
    expect(page.status).toBe(400);
    expect(await page.text()).toMatch(/Login failed[\s\S]*issuer/i);
    const status = (await (await fetch(`${ourOrigin}/api/servers/docs/login`)).json()) as {
      loggedIn: boolean;
      login: { state: string; error: string };
    };
    expect(status).toMatchObject({ loggedIn: false, login: { state: 'failed' } });
    expect(status.login.error).toContain('server "docs"');
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'OAuth login to a remote server failed', err: status.login.error })
    );
    expect(storedTokens()).toBeUndefined();
  });

  it('reports a refusal in the browser as a failed login, and a newer login replaces an older one', async () => {
    const older = await logins.start('docs');
    const { authorizationUrl } = await logins.start('docs');
    const browser = new ConsentBrowser(remoteOrigin);
    const page = await browser.open(new URL(authorizationUrl));
    const denied = await browser.submit(page.url, page.html, { password: PASSWORD, decision: 'deny' });
    expect(denied.redirect?.searchParams.get('error')).toBe('access_denied');
    const answer = await fetch(denied.redirect!);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('refused: access_denied');
    expect(logins.status('docs').login).toMatchObject({ state: 'failed' });

    // The older login's callback is no longer accepted.
    const stale = await approve(older.authorizationUrl);
    expect(await (await fetch(stale)).text()).toContain('unknown or has expired');
    expect(storedTokens()).toBeUndefined();
  });

  it('will not ask for a token whose audience is another server', async () => {
    const refused = await fetch(`${ourOrigin}/api/servers/relay/login`, { method: 'POST' });
    expect(refused.status).toBe(502);
    const body = (await refused.json()) as { error: { code: string; message: string; server: string } };
    expect(body.error).toMatchObject({ code: 'login_failed', server: 'relay' });
    expect(body.error.message).toContain(`${remoteOrigin}/mcp`);
    expect(body.error.message).toMatch(/does not match/);
  });

  it('logs in again after the revocation, and `logout` forgets the tokens', async () => {
    const started = (await (
      await fetch(`${ourOrigin}/api/servers/docs/login`, { method: 'POST' })
    ).json()) as {
      authorizationUrl: string;
    };
    expect((await fetch(await approve(started.authorizationUrl))).status).toBe(200);
    const client = await connect();
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'again' } }))).toBe(
      'again'
    );
    await client.close();

    let notes = '';
    await expect(
      runLogin(
        { action: 'logout', server: 'docs', gateway: ourOrigin, token: undefined },
        { out: () => {}, err: text => (notes += text) }
      )
    ).resolves.toBe(0);
    expect(notes).toContain('forgot');
    expect(storedTokens()).toBeUndefined();
    await expect(connect()).rejects.toMatchObject({ code: 'login_required' });
  });

  it('uses a configured clientId and clientSecret instead of registering', async () => {
    const registered = (await (
      await fetch(`${remoteOrigin}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'preset client',
          redirect_uris: [`${ourOrigin}${CALLBACK_PATH}`],
          grant_types: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_method: 'client_secret_basic',
          application_type: 'native'
        })
      })
    ).json()) as { client_id: string; client_secret: string };
    expect(registered.client_secret).toBeTruthy();
    logins.register({
      id: 'preset',
      url: new URL(`${remoteOrigin}/mcp`),
      oauth: { ...SHARED, clientId: registered.client_id, clientSecret: registered.client_secret }
    });
    const { authorizationUrl } = await logins.start('preset');
    expect(new URL(authorizationUrl).searchParams.get('client_id')).toBe(registered.client_id);
    expect((await fetch(await approve(authorizationUrl))).status).toBe(200);
    const client = await connect('preset');
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'preset' } }))).toBe(
      'preset'
    );
    await client.close();
  });

  it('keeps per-user credentials apart: each principal its own login and token, logging one out leaves the other', async () => {
    logins.register({
      id: 'team',
      url: new URL(`${remoteOrigin}/mcp`),
      oauth: { ...SHARED, credentials: 'per-user' }
    });
    for (const principal of ['token:alice', 'token:bob']) {
      const { authorizationUrl } = await logins.start('team', principal);
      expect((await fetch(await approve(authorizationUrl))).status).toBe(200);
    }
    const read = (principal: string) =>
      (
        new RemoteCredentialStore(ourDb, () => loadCredentialKey(ourState)).read(
          { serverId: 'team', principal },
          'tokens'
        ) as { tokens: { access_token: string } }
      ).tokens.access_token;
    expect(read('token:alice')).not.toBe(read('token:bob'));

    const sent: string[] = [];
    const recording = (principal: string) => {
      const provider = logins.provider('team', principal);
      return new StreamableHTTPClientTransport(new URL(`${remoteOrigin}/mcp`), {
        authProvider: provider,
        fetch: (url, init) => {
          sent.push(`${principal} ${new Headers(init?.headers).get('authorization')}`);
          return fetch(url, init);
        }
      });
    };
    const alice = new Client({ name: 'alice', version: '1' });
    await alice.connect(recording('token:alice'));
    const bob = new Client({ name: 'bob', version: '1' });
    await bob.connect(recording('token:bob'));
    await alice.callTool({ name: 'fixture__echo', arguments: { text: 'a' } });
    await bob.callTool({ name: 'fixture__echo', arguments: { text: 'b' } });
    expect(sent.filter(line => line.startsWith('token:alice'))).toSatisfy((lines: string[]) =>
      lines.every(line => line === `token:alice Bearer ${read('token:alice')}`)
    );
    expect(sent.filter(line => line.startsWith('token:bob'))).toSatisfy((lines: string[]) =>
      lines.every(line => line === `token:bob Bearer ${read('token:bob')}`)
    );
    await alice.close();
    await bob.close();

    // Alice logs out: her calls need a login of her own; Bob's still work.
    logins.logout('team', 'token:alice');
    await expect(
      new Client({ name: 'alice', version: '1' }).connect(recording('token:alice'))
    ).rejects.toMatchObject({ code: 'login_required', message: expect.stringContaining('for token:alice') });
    const bobAgain = new Client({ name: 'bob', version: '1' });
    await bobAgain.connect(recording('token:bob'));
    expect(textOf(await bobAgain.callTool({ name: 'fixture__echo', arguments: { text: 'bob' } }))).toBe(
      'bob'
    );
    await bobAgain.close();
  });

  it('is served by the real daemon: the callback route, and the login API behind the admin check', async () => {
    // The remote gateway is a real daemon too (in auth.mode oauth, whose OAuth server owns /oauth/).
    const stray = await fetch(`${remoteOrigin}${CALLBACK_PATH}?state=nothing&code=x`);
    expect(stray.status).toBe(400);
    expect(await stray.text()).toContain('unknown or has expired');

    const anonymous = spawnSync(
      process.execPath,
      [CLI, 'login', 'docs', '--port', remoteOrigin.split(':')[2]!],
      {
        encoding: 'utf8',
        env: { ...process.env, MCP_GATEWAY_CONFIG: path.join(remoteState, 'absent.yaml') }
      }
    );
    expect(anonymous.status).toBe(1);
    expect(anonymous.stderr).toContain('pass an admin token with --token or MCP_GATEWAY_TOKEN');

    const admin = remoteCli(['token', 'create', '--name', 'login-admin', '--admin']).stdout.split('\n')[0]!;
    const named = spawnSync(
      process.execPath,
      [CLI, 'login', 'docs', '--port', remoteOrigin.split(':')[2]!, '--token', admin],
      { encoding: 'utf8', env: { ...process.env, MCP_GATEWAY_CONFIG: path.join(remoteState, 'absent.yaml') } }
    );
    expect(named.status).toBe(1);
    expect(named.stderr).toContain('no remote server "docs" with `auth: oauth`');
  });

  it('answers 404 naming the server for a login to a server without auth: oauth', async () => {
    let notes = '';
    await expect(
      runLogin(
        { action: 'login', server: 'nope', gateway: ourOrigin, token: undefined },
        { out: () => {}, err: text => (notes += text) }
      )
    ).rejects.toThrow(/no remote server "nope" with `auth: oauth`/);
    expect(notes).toBe('');
  });
});
