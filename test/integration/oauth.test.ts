import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  Client,
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  SSEClientTransport,
  StreamableHTTPClientTransport
} from '@modelcontextprotocol/client';
import { CLI, FIXTURE_SERVER, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';
import { ConsentBrowser, MemoryOAuthClient, TEST_REDIRECT_URL } from '../support/oauth-test-client.js';

/**
 * The whole OAuth flow against the real daemon, as Claude.ai or Claude Code would run it with the
 * SDK's own client-side OAuth: discover, register, approve on the consent page, exchange, call a
 * tool, refresh, and be refused once the grant is revoked.
 */

const PASSWORD = 'correct horse battery staple';
let stateDir: string;
let publicUrl: string;
let gateway: GatewayProcess;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, ...args, '--state-dir', stateDir], { encoding: 'utf8', input });
}

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'oauth-state-'));
  expect(cli(['admin', 'set-password'], `${PASSWORD}\n`)).toMatchObject({ status: 0 });
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  gateway = await GatewayProcess.start(
    `
gateway:
  publicUrl: ${publicUrl}
  auth: { mode: oauth }
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`,
    { stateDir, args: ['--port', String(port)] }
  );
});

afterAll(async () => {
  await gateway?.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Runs the whole authorization for `client`; returns the authorization code it redeemed. */
async function authorize(client: MemoryOAuthClient): Promise<string> {
  const serverUrl = `${publicUrl}/mcp`;
  await expect(auth(client, { serverUrl })).resolves.toBe('REDIRECT');
  const outcome = await new ConsentBrowser(publicUrl).approve(client.authorizationUrl!, PASSWORD);
  const code = outcome.redirect?.searchParams.get('code');
  expect(code, `no code; ended on ${outcome.status} ${outcome.html.slice(0, 300)}`).toBeTruthy();
  const iss = outcome.redirect?.searchParams.get('iss') ?? undefined;
  await expect(auth(client, { serverUrl, authorizationCode: code!, iss })).resolves.toBe('AUTHORIZED');
  return code!;
}

/** An authorization request for the root resource with an S256 `challenge`, and `more` parameters. */
function authorizationRequest(
  clientId: string,
  redirectUri: string,
  challenge: string,
  more: Record<string, string> = {}
): URL {
  const url = new URL(`${publicUrl}/oauth/authorize`);
  const params = {
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: `${publicUrl}/mcp`,
    ...more
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url;
}

/** Registers a client with `metadata` (RFC 7591); the answer's status and body. */
async function register(metadata: Record<string, unknown>) {
  const response = await fetch(`${publicUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata)
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** A PKCE verifier and its S256 challenge. */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function connectWith(oauth: MemoryOAuthClient, era: 'legacy' | 'modern'): Promise<Client> {
  const client = new Client(
    { name: 'oauth-test', version: '1.0.0' },
    { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), { authProvider: oauth })
  );
  return client;
}

describe('OAuth against the real daemon', () => {
  it('challenges with the protected resource metadata, which names the gateway as authorization server', async () => {
    const refused = await fetch(`${publicUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}'
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(
      `resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/mcp"`
    );
    // The scope to ask for, which clients take over the metadata's list (RFC 6750 §3).
    expect(refused.headers.get('www-authenticate')).toContain('scope="mcp"');
    const metadata = (await (
      await fetch(`${publicUrl}/.well-known/oauth-protected-resource/mcp`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      resource: `${publicUrl}/mcp`,
      authorization_servers: [publicUrl],
      bearer_methods_supported: ['header']
    });
    const server = (await (
      await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(server).toMatchObject({ issuer: publicUrl, code_challenge_methods_supported: ['S256'] });
    // The scopes agree: the resource's one scope is one the authorization server lists and issues.
    expect(metadata.scopes_supported).toEqual(['mcp']);
    expect(server.scopes_supported).toEqual(['openid', 'offline_access', 'mcp']);
    const openid = (await (await fetch(`${publicUrl}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(openid.scopes_supported).toEqual(server.scopes_supported);
    expect(server.registration_endpoint).toBe(`${publicUrl}/oauth/register`);
  });

  it('lets a client in a browser (the MCP Inspector) read the metadata and register: CORS', async () => {
    const origin = 'http://localhost:6274';
    const preflight = (path: string, method: string, headers: string) =>
      fetch(`${publicUrl}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': headers
        }
      });
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-authorization-server'
    ]) {
      const allowed = await preflight(path, 'GET', 'mcp-protocol-version');
      expect(allowed.status, path).toBe(204);
      expect(allowed.headers.get('access-control-allow-headers'), path).toContain('mcp-protocol-version');
      const read = await fetch(`${publicUrl}${path}`, {
        headers: { origin, 'mcp-protocol-version': '2025-11-25' }
      });
      expect(read.status, path).toBe(200);
      expect(read.headers.get('access-control-allow-origin'), path).toMatch(/^(\*|http:\/\/localhost:6274)$/);
    }
    const allowed = await preflight('/oauth/register', 'POST', 'content-type');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    const registered = await fetch(`${publicUrl}/oauth/register`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'MCP Inspector',
        redirect_uris: [`${origin}/oauth/callback`],
        token_endpoint_auth_method: 'none'
      })
    });
    expect(registered.status).toBe(201);
    expect(registered.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('registers, is approved on the consent page, calls tools in both eras, refreshes, and is refused after revocation', async () => {
    const oauth = new MemoryOAuthClient('integration client');
    await authorize(oauth);
    const firstTokens = oauth.saved!;
    expect(firstTokens.access_token).toBeTruthy();
    expect(firstTokens.refresh_token).toBeTruthy();

    for (const era of ['legacy', 'modern'] as const) {
      const client = await connectWith(oauth, era);
      const { tools } = await client.listTools();
      expect(tools.map(tool => tool.name)).toContain('fixture__echo');
      expect(
        textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: `oauth ${era}` } }))
      ).toBe(`oauth ${era}`);
      await client.close();
    }

    // Refresh: a new access token and a rotated refresh token; the old refresh token is spent.
    await expect(auth(oauth, { serverUrl: `${publicUrl}/mcp` })).resolves.toBe('AUTHORIZED');
    expect(oauth.saved!.access_token).not.toBe(firstTokens.access_token);
    expect(oauth.saved!.refresh_token).not.toBe(firstTokens.refresh_token);
    const afterRefresh = await connectWith(oauth, 'legacy');
    expect(
      textOf(await afterRefresh.callTool({ name: 'fixture__echo', arguments: { text: 'refreshed' } }))
    ).toBe('refreshed');
    await afterRefresh.close();

    // The owner sees the grant (CLI and API alike) and revokes it over the API; the client's token
    // stops working.
    const listing = cli(['token', 'list']);
    const grant = /^oauth:integration client\t(\S+)\t/m.exec(listing.stdout);
    expect(grant, listing.stdout).not.toBeNull();
    const admin = {
      authorization: `Bearer ${cli(['token', 'create', '--name', 'owner', '--admin']).stdout.trim()}`
    };
    const listed = (await (await fetch(`${publicUrl}/api/tokens`, { headers: admin })).json()) as {
      grants: { id: string; clientName: string | null }[];
    };
    expect(listed.grants).toContainEqual(
      expect.objectContaining({ id: grant![1], clientName: 'integration client' })
    );
    const revoked = await fetch(`${publicUrl}/api/tokens/${grant![1]}`, { method: 'DELETE', headers: admin });
    expect(await revoked.json()).toEqual({ revoked: grant![1], kind: 'grant' });
    const token = oauth.saved!.access_token;
    await waitUntil(async () => {
      const response = await fetch(`${publicUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream'
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
        })
      });
      await response.body?.cancel();
      return response.status === 401;
    }, 5_000);
  });

  it('logs in a client of the 2024-11-05 transport at /sse, whose resource is /sse', async () => {
    const serverUrl = `${publicUrl}/sse`;
    const refused = await fetch(serverUrl);
    await refused.body?.cancel();
    expect(refused.headers.get('www-authenticate')).toContain(
      `resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/sse"`
    );
    // The transport posts to /messages: a token that expires meanwhile is sent to the same place.
    const posted = await fetch(`${publicUrl}/messages?sessionId=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    });
    expect(posted.headers.get('www-authenticate')).toContain(
      `resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/sse"`
    );
    const oauth = new MemoryOAuthClient('sse client');
    // The SDK refuses metadata whose resource is not the URL it was given.
    await expect(auth(oauth, { serverUrl })).resolves.toBe('REDIRECT');
    expect(oauth.authorizationUrl!.searchParams.get('resource')).toBe(serverUrl);
    const outcome = await new ConsentBrowser(publicUrl).approve(oauth.authorizationUrl!, PASSWORD);
    const code = outcome.redirect?.searchParams.get('code');
    expect(code, outcome.html.slice(0, 300)).toBeTruthy();
    const iss = outcome.redirect?.searchParams.get('iss') ?? undefined;
    await expect(auth(oauth, { serverUrl, authorizationCode: code!, iss })).resolves.toBe('AUTHORIZED');
    const client = new Client({ name: 'oauth-sse', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(serverUrl), { authProvider: oauth }));
    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'over sse' } }))).toBe(
      'over sse'
    );
    await client.close();
  });

  it('lets the owner retry a mistyped admin password on the same page, and audits the miss', async () => {
    const oauth = new MemoryOAuthClient('mistyped client');
    const serverUrl = `${publicUrl}/mcp`;
    await expect(auth(oauth, { serverUrl })).resolves.toBe('REDIRECT');
    const browser = new ConsentBrowser(publicUrl);
    const page = await browser.open(oauth.authorizationUrl!);
    const miss = await browser.submit(page.url, page.html, {
      password: 'not the password',
      decision: 'approve'
    });
    expect(miss.redirect).toBeUndefined();
    expect(miss.html).toContain('Wrong admin password. 4 tries left');
    const outcome = await browser.submit(page.url, miss.html, { password: PASSWORD, decision: 'approve' });
    const code = outcome.redirect?.searchParams.get('code');
    expect(code, `no code; ended on ${outcome.status} ${outcome.html.slice(0, 300)}`).toBeTruthy();
    const iss = outcome.redirect?.searchParams.get('iss') ?? undefined;
    await expect(auth(oauth, { serverUrl, authorizationCode: code!, iss })).resolves.toBe('AUTHORIZED');

    const admin = cli(['token', 'create', '--name', 'auditor', '--admin']).stdout.split('\n')[0]!;
    const audit = (await (
      await fetch(`${publicUrl}/api/audit?event=auth_failed`, {
        headers: { authorization: `Bearer ${admin}` }
      })
    ).json()) as { entries: { detail: { reason?: string } }[] };
    expect(audit.entries.map(entry => entry.detail.reason)).toContain(
      'wrong admin password on the consent page'
    );
  });

  it('refuses a wrong PKCE verifier, missing or plain PKCE, and another resource', async () => {
    const oauth = new MemoryOAuthClient('pkce client');
    await expect(auth(oauth, { serverUrl: `${publicUrl}/mcp` })).resolves.toBe('REDIRECT');
    const outcome = await new ConsentBrowser(publicUrl).approve(oauth.authorizationUrl!, PASSWORD);
    const metadata = (await discoverAuthorizationServerMetadata(publicUrl))!;
    await expect(
      exchangeAuthorization(publicUrl, {
        metadata,
        clientInformation: oauth.information!,
        authorizationCode: outcome.redirect!.searchParams.get('code')!,
        iss: outcome.redirect!.searchParams.get('iss')!,
        codeVerifier: 'a-different-verifier-that-is-long-enough-to-be-well-formed-0123',
        redirectUri: TEST_REDIRECT_URL,
        resource: `${publicUrl}/mcp`
      })
    ).rejects.toMatchObject({ code: 'invalid_grant' });

    const clientId = (
      await register({
        client_name: 'hand-made',
        redirect_uris: [TEST_REDIRECT_URL],
        token_endpoint_auth_method: 'none'
      })
    ).body.client_id!;
    const refusals: [Record<string, string>, string][] = [
      [{ code_challenge: '', code_challenge_method: '' }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ resource: 'https://elsewhere.example/mcp' }, 'invalid_target']
    ];
    for (const [params, error] of refusals) {
      const url = new URL(`${publicUrl}/oauth/authorize`);
      const fields = {
        client_id: clientId,
        response_type: 'code',
        redirect_uri: TEST_REDIRECT_URL,
        state: 'st',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        resource: `${publicUrl}/mcp`,
        scope: 'mcp',
        ...params
      };
      for (const [name, value] of Object.entries(fields)) if (value !== '') url.searchParams.set(name, value);
      const answer = await new ConsentBrowser(publicUrl).open(url);
      expect(answer.redirect?.searchParams.get('error'), JSON.stringify(params)).toBe(error);
      expect(answer.redirect?.searchParams.has('code')).toBe(false);
    }
  });

  it('takes https or loopback redirect URIs only, and lets a loopback client come back on any port', async () => {
    // As older MCP clients register: no application_type.
    const registerFor = (redirectUris: string[]) =>
      register({ redirect_uris: redirectUris, token_endpoint_auth_method: 'none' });
    // http off loopback would carry the code in the clear: refused, naming the URI.
    const plain = await registerFor(['http://connector.example/callback']);
    expect(plain.status).toBe(400);
    expect(plain.body).toMatchObject({ error: 'invalid_redirect_uri' });
    expect(plain.body.error_description).toContain('http://connector.example/callback');
    // An app's own scheme (Cursor's) is a native client's, and accepted.
    expect((await registerFor(['cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback'])).status).toBe(
      201
    );

    // A loopback client listens on the port the system gives it when it logs in (RFC 8252 §7.3).
    const loopback = await registerFor(['http://localhost:3333/callback']);
    expect(loopback.status).toBe(201);
    // Schemes that run in the browser stay refused.
    for (const scheme of ['javascript:alert(1)', 'data:text/html,x']) {
      expect((await registerFor([scheme])).body.error, scheme).toBe('invalid_redirect_uri');
    }
    const clientId = loopback.body.client_id!;
    const { verifier, challenge } = pkce();
    const authorizeUrl = (redirectUri: string) =>
      authorizationRequest(clientId, redirectUri, challenge, { scope: 'mcp' });
    // Host and path still match exactly; only the port is free.
    for (const other of ['http://127.0.0.1:4444/callback', 'http://localhost:4444/elsewhere']) {
      const refused = await new ConsentBrowser(publicUrl).open(authorizeUrl(other));
      expect(refused.status, other).toBe(400);
      expect(refused.html).toContain('redirect_uri did not match');
    }
    const outcome = await new ConsentBrowser(publicUrl).approve(
      authorizeUrl('http://localhost:4444/callback'),
      PASSWORD
    );
    expect(outcome.redirect?.origin, outcome.html.slice(0, 300)).toBe('http://localhost:4444');
    const token = await fetch(`${publicUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: outcome.redirect!.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'http://localhost:4444/callback',
        resource: `${publicUrl}/mcp`
      })
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toBeTruthy();
  });

  it('approves a request that names no scope or a scope of its own, as Claude.ai does, and refreshes it', async () => {
    const redirectUri = 'https://claude.ai/api/mcp/auth_callback';
    const { body: client } = await register({
      client_name: 'Claude',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'claudeai'
    });
    const credentials = { client_id: client.client_id!, client_secret: client.client_secret! };
    const tokenRequest = async (fields: Record<string, string>) => {
      const response = await fetch(`${publicUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...credentials, ...fields })
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    for (const scope of ['claudeai', undefined]) {
      const { verifier, challenge } = pkce();
      const outcome = await new ConsentBrowser(publicUrl).approve(
        authorizationRequest(
          credentials.client_id,
          redirectUri,
          challenge,
          scope === undefined ? {} : { scope }
        ),
        PASSWORD
      );
      const code = outcome.redirect?.searchParams.get('code');
      expect(code, `scope ${scope}: ${outcome.redirect?.search ?? outcome.html.slice(0, 300)}`).toBeTruthy();
      const issued = await tokenRequest({
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: redirectUri,
        code_verifier: verifier
      });
      expect(issued, `scope ${scope}`).toMatchObject({ status: 200, body: { scope: 'mcp' } });
      const refreshed = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: issued.body.refresh_token!
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const oauth = new MemoryOAuthClient();
      oauth.saved = { access_token: refreshed.body.access_token!, token_type: 'Bearer' };
      const mcp = await connectWith(oauth, 'modern');
      expect((await mcp.listTools()).tools.map(tool => tool.name)).toContain('fixture__echo');
      await mcp.close();
    }
  });

  it('tells the person in the browser how to recover when the gateway has forgotten the client', async () => {
    // A client id the gateway pruned (its grant revoked a day ago) looks like any unknown one.
    const page = await new ConsentBrowser(publicUrl).open(
      authorizationRequest('forgotten-client-id', TEST_REDIRECT_URL, pkce().challenge, { scope: 'mcp' })
    );
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid_client');
    expect(page.html).toContain('Remove the saved login for this server in the application');
  });

  it("refuses an access token that is not the gateway's, with a challenge", async () => {
    const response = await fetch(`${publicUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer not-a-token-this-gateway-issued',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream'
      },
      body: '{}'
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('keeps nothing in a copy of gateway.db that redeems: no token or code in clear, the file 0600', async () => {
    const oauth = new MemoryOAuthClient('at-rest client');
    const code = await authorize(oauth);
    const first = oauth.saved!;
    await expect(auth(oauth, { serverUrl: `${publicUrl}/mcp` })).resolves.toBe('AUTHORIZED');
    const secrets = {
      code,
      firstAccessToken: first.access_token,
      firstRefreshToken: first.refresh_token!,
      accessToken: oauth.saved!.access_token,
      refreshToken: oauth.saved!.refresh_token!
    };

    // The copy someone could take: the database and its WAL, as they are on disk.
    const copy = mkdtempSync(path.join(tmpdir(), 'oauth-copy-'));
    try {
      for (const suffix of ['', '-wal']) {
        const file = path.join(stateDir, `gateway.db${suffix}`);
        if (existsSync(file)) copyFileSync(file, path.join(copy, `gateway.db${suffix}`));
      }
      const bytes = ['', '-wal']
        .map(suffix => path.join(copy, `gateway.db${suffix}`))
        .filter(file => existsSync(file))
        .map(file => readFileSync(file).toString('latin1'))
        .join('');
      const copied = new DatabaseSync(path.join(copy, 'gateway.db'));
      const cells: string[] = [];
      const tables = copied.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      for (const { name } of tables) {
        for (const row of copied.prepare(`SELECT * FROM "${name}"`).all()) {
          cells.push(...Object.values(row).map(value => String(value)));
        }
      }
      const stored = copied
        .prepare("SELECT kind, id FROM oauth_models WHERE kind IN ('RefreshToken', 'AccessToken')")
        .all() as { kind: string; id: string }[];
      copied.close();
      expect(cells.some(cell => cell.includes('at-rest client'))).toBe(true); // the copy is readable
      // What the copy does hold under those kinds is refused when presented.
      // (two of each from this test's grant, more from the tests before it)
      expect(stored.filter(row => row.kind === 'RefreshToken').length).toBeGreaterThanOrEqual(2);
      expect(stored.filter(row => row.kind === 'AccessToken').length).toBeGreaterThanOrEqual(2);
      for (const { kind, id } of stored) {
        const response =
          kind === 'RefreshToken'
            ? await fetch(`${publicUrl}/oauth/token`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({
                  grant_type: 'refresh_token',
                  refresh_token: id,
                  client_id: oauth.information!.client_id
                }).toString()
              })
            : await fetch(`${publicUrl}/mcp`, {
                method: 'POST',
                headers: {
                  authorization: `Bearer ${id}`,
                  'content-type': 'application/json',
                  accept: 'application/json, text/event-stream'
                },
                body: '{}'
              });
        expect(response.status, `${kind} ${await response.text()}`).toBe(kind === 'RefreshToken' ? 400 : 401);
      }
      for (const [what, secret] of Object.entries(secrets)) {
        expect(secret.length, what).toBeGreaterThan(20);
        expect(
          cells.filter(cell => cell.includes(secret)),
          what
        ).toEqual([]);
        expect(bytes.includes(secret), `${what} in the raw bytes`).toBe(false);
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }

    // The state directory and the database are this user's alone.
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const suffix of ['', '-wal', '-shm']) {
      const file = path.join(stateDir, `gateway.db${suffix}`);
      if (existsSync(file)) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    }
  });
});

describe('OAuth with no admin password set', () => {
  it('says so at start and on the consent page, with the command for this state directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oauth-nopass-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const unset = await GatewayProcess.start(
      `
gateway:
  publicUrl: ${url}
  auth: { mode: oauth }
servers: {}
`,
      { stateDir: dir, args: ['--port', String(port)] }
    );
    try {
      const command = `mcp-gateway admin set-password --state-dir ${dir}`;
      const warning = await unset.waitForLog(
        line => line.level === 40 && String(line.msg).includes('no admin password')
      );
      expect(warning.msg).toContain(command);
      const client = new MemoryOAuthClient('too early');
      await expect(auth(client, { serverUrl: `${url}/mcp` })).resolves.toBe('REDIRECT');
      const page = await new ConsentBrowser(url).open(client.authorizationUrl!);
      expect(page.html).toContain('No admin password is set');
      expect(page.html).toContain(command);
    } finally {
      await unset.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
