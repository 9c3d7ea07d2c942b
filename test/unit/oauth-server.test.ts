import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import {
  auth,
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  type AuthorizationServerMetadata
} from '@modelcontextprotocol/client';
import express, { type Router } from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTokenError } from '../../src/auth/token-verifier.js';
import {
  createOAuthServer,
  type OAuthServer,
  type OAuthServerOptions
} from '../../src/http/oauth/oauth-server.js';
import { PASSWORD_TRIES } from '../../src/http/oauth/consent-router.js';
import { OAuthModelStore } from '../../src/http/oauth/oauth-model-store.js';
import { PasswordGuesses } from '../../src/http/password-guesses.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  ConsentBrowser,
  MemoryOAuthClient,
  TEST_REDIRECT_URL,
  type BrowserOutcome
} from '../support/oauth-test-client.js';

const PASSWORD = 'correct horse battery staple';

interface Gateway {
  /** Where the test server listens. */
  readonly url: string;
  /** What the OAuth server was told it is reachable at; `url` unless a test says otherwise. */
  readonly publicUrl: string;
  readonly resource: string;
  readonly oauth: OAuthServer;
  readonly db: DatabaseSync;
  readonly audit: AuditLog;
  readonly settings: SettingsStore;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A state directory that outlives one gateway, so a second one can open the same database. */
function stateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mgw-oauth-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The OAuth router in an Express app on 127.0.0.1, with the protected resource metadata the
 * gateway serves for /mcp (RFC 9728) so that the SDK's client finds the authorization server.
 */
async function startGateway(
  options: { dir?: string; password?: string | null } & Partial<OAuthServerOptions> = {}
): Promise<Gateway> {
  const dir = options.dir ?? stateDir();
  const db = openDatabase(dir);
  const settings = new SettingsStore(db);
  if (options.password !== null) await settings.setAdminPassword(options.password ?? PASSWORD);
  const audit = new AuditLog(db);
  const app = express();
  // The OAuth router needs the port in its public URL, so it is mounted once the server listens.
  const mounted: { router?: Router } = {};
  app.use((req, res, next) => (mounted.router ? mounted.router(req, res, next) : next()));
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publicUrl = options.publicUrl ?? url;
  const resource = `${publicUrl}/mcp`;
  app.get('/.well-known/oauth-protected-resource/mcp', (_req, res) => {
    res.json({ resource, authorization_servers: [publicUrl], scopes_supported: ['mcp'] });
  });
  // A profile's URL, as security.ts serves it (the gateway below serves profile dev).
  app.get('/.well-known/oauth-protected-resource/mcp/:profile', (req, res) => {
    res.json({
      resource: `${resource}/${req.params.profile}`,
      authorization_servers: [publicUrl],
      scopes_supported: ['mcp']
    });
  });
  const oauth = await createOAuthServer({
    db,
    settings,
    audit,
    log: pino({ level: 'silent' }),
    allowInsecure: true,
    // Every test posts consent forms from 127.0.0.1; the limit itself has its own test.
    consentAttemptsPerMinute: 1000,
    stateDir: dir,
    profiles: () => ['dev'],
    ...options,
    publicUrl
  });
  mounted.router = oauth.router;
  const gateway: Gateway = {
    url,
    publicUrl,
    resource,
    oauth,
    db,
    audit,
    settings,
    close: async () => {
      if (!db.isOpen) return;
      await oauth.close();
      server.closeAllConnections();
      server.close();
      db.close();
    }
  };
  cleanups.push(() => gateway.close());
  return gateway;
}

/** Runs the SDK's `auth()` to the redirect, approves in the browser, and exchanges the code. */
async function authorize(
  gateway: Gateway,
  client = new MemoryOAuthClient(),
  serverUrl = gateway.resource
): Promise<MemoryOAuthClient> {
  await expect(auth(client, { serverUrl })).resolves.toBe('REDIRECT');
  const outcome = await new ConsentBrowser(gateway.publicUrl).approve(client.authorizationUrl!, PASSWORD);
  const code = outcome.redirect?.searchParams.get('code');
  expect(code, `no code; ended on ${outcome.status} ${outcome.redirect?.href ?? outcome.html}`).toBeTruthy();
  const iss = outcome.redirect?.searchParams.get('iss') ?? undefined;
  await expect(auth(client, { serverUrl, authorizationCode: code!, iss })).resolves.toBe('AUTHORIZED');
  return client;
}

/** A hand-built authorization request for a registered client, to send what the SDK never would. */
async function registeredClient(gateway: Gateway): Promise<string> {
  const res = await fetch(`${gateway.publicUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'hand-made client',
      redirect_uris: [TEST_REDIRECT_URL],
      token_endpoint_auth_method: 'none'
    })
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

function authorizationUrl(gateway: Gateway, clientId: string, params: Record<string, string>): URL {
  const url = new URL(`${gateway.publicUrl}/oauth/authorize`);
  const defaults = {
    client_id: clientId,
    response_type: 'code',
    redirect_uri: TEST_REDIRECT_URL,
    state: 'st',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    resource: gateway.resource,
    scope: 'mcp'
  };
  for (const [name, value] of Object.entries({ ...defaults, ...params })) {
    if (value !== '') url.searchParams.set(name, value);
  }
  return url;
}

async function tokenRequest(gateway: Gateway, fields: Record<string, string>): Promise<Response> {
  return fetch(`${gateway.publicUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString()
  });
}

function auditEvents(gateway: Gateway, event: Parameters<AuditLog['list']>[2]) {
  return gateway.audit.list(100, undefined, event);
}

describe('the OAuth server', () => {
  let gateway: Gateway;
  let metadata: AuthorizationServerMetadata;

  beforeAll(async () => {
    gateway = await startGateway();
    metadata = (await discoverAuthorizationServerMetadata(gateway.publicUrl))!;
  });

  it('publishes RFC 8414 metadata at the issuer: PKCE S256 only, registration, revocation, CIMD', () => {
    const base = gateway.publicUrl;
    expect(metadata).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      registration_endpoint: `${base}/oauth/register`,
      revocation_endpoint: `${base}/oauth/revoke`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      client_id_metadata_document_supported: true
    });
    expect(metadata.token_endpoint_auth_methods_supported).toContain('none');
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token'])
    );
  });

  it('runs the whole flow with the SDK client: register, consent, exchange, verify', async () => {
    const client = await authorize(gateway);
    const clientId = client.information!.client_id;
    const tokens = client.saved!;
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'mcp', expires_in: 600 });
    expect(tokens.refresh_token).toBeTruthy();
    await expect(gateway.oauth.verifier.verify(tokens.access_token)).resolves.toEqual({
      id: `oauth:${clientId}`,
      kind: 'oauth',
      admin: false
    });
    const grants = await gateway.oauth.grants();
    expect(grants).toContainEqual(expect.objectContaining({ clientId, clientName: 'test client' }));
    expect(auditEvents(gateway, 'client_registered')).toContainEqual(
      expect.objectContaining({
        detail: expect.objectContaining({ clientId }),
        remoteAddress: expect.stringContaining('127.0.0.1')
      })
    );
    expect(auditEvents(gateway, 'consent_approved')).toContainEqual(
      expect.objectContaining({
        principal: `oauth:${clientId}`,
        detail: expect.objectContaining({ clientId })
      })
    );
  });

  it('binds a token asked for a profile URL (resource=.../mcp/dev) to that profile', async () => {
    const client = await authorize(gateway, new MemoryOAuthClient(), `${gateway.resource}/dev`);
    await expect(gateway.oauth.verifier.verify(client.saved!.access_token)).resolves.toEqual({
      id: `oauth:${client.information!.client_id}`,
      kind: 'oauth',
      admin: false,
      profiles: ['dev']
    });
    // An unknown profile's URL is no resource of the gateway.
    const clientId = await registeredClient(gateway);
    const res = await new ConsentBrowser(gateway.publicUrl).open(
      authorizationUrl(gateway, clientId, { resource: `${gateway.resource}/nope` })
    );
    expect(res.redirect?.searchParams.get('error')).toBe('invalid_target');
    expect(res.redirect?.searchParams.get('error_description')).toContain(`${gateway.resource}/dev`);
  });

  it('refreshes with a rotated refresh token; presenting the old one again fails and revokes the grant', async () => {
    const client = await authorize(gateway);
    const first = client.saved!;
    await expect(auth(client, { serverUrl: gateway.resource })).resolves.toBe('AUTHORIZED');
    const second = client.saved!;
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    await expect(gateway.oauth.verifier.verify(second.access_token)).resolves.toMatchObject({
      kind: 'oauth'
    });

    const reuse = await tokenRequest(gateway, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: client.information!.client_id
    });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    // Reuse means the refresh token leaked: the grant and everything issued under it is gone.
    await expect(gateway.oauth.verifier.verify(second.access_token)).rejects.toBeInstanceOf(
      InvalidTokenError
    );
    expect(auditEvents(gateway, 'grant_revoked')).toContainEqual(
      expect.objectContaining({
        detail: expect.objectContaining({ clientId: client.information!.client_id })
      })
    );
  });

  it('revokes an access token at the revocation endpoint (RFC 7009)', async () => {
    const client = await authorize(gateway);
    const res = await fetch(`${gateway.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: client.saved!.access_token,
        client_id: client.information!.client_id
      })
    });
    expect(res.status).toBe(200);
    await expect(gateway.oauth.verifier.verify(client.saved!.access_token)).rejects.toThrow(/revoked/);
  });

  it("ignores another client's revocation of a token, as RFC 7009 asks", async () => {
    const victim = await authorize(gateway);
    const other = await registeredClient(gateway);
    const res = await fetch(`${gateway.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: victim.saved!.access_token, client_id: other })
    });
    expect(res.status).toBe(200);
    await expect(gateway.oauth.verifier.verify(victim.saved!.access_token)).resolves.toMatchObject({
      kind: 'oauth'
    });
  });

  it('revokeGrant revokes the grant, its access token and its refresh token', async () => {
    const client = await authorize(gateway);
    const clientId = client.information!.client_id;
    const grant = (await gateway.oauth.grants()).find(g => g.clientId === clientId)!;
    await expect(gateway.oauth.revokeGrant(grant.id)).resolves.toBe(true);
    await expect(gateway.oauth.verifier.verify(client.saved!.access_token)).rejects.toBeInstanceOf(
      InvalidTokenError
    );
    const refresh = await tokenRequest(gateway, {
      grant_type: 'refresh_token',
      refresh_token: client.saved!.refresh_token!,
      client_id: clientId
    });
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await gateway.oauth.grants()).map(g => g.id)).not.toContain(grant.id);
    await expect(gateway.oauth.revokeGrant(grant.id)).resolves.toBe(false);
    await expect(gateway.oauth.revokeGrant('no-such-grant')).resolves.toBe(false);
  });

  it('refuses a code exchanged with the wrong PKCE verifier', async () => {
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const outcome = await new ConsentBrowser(gateway.publicUrl).approve(client.authorizationUrl!, PASSWORD);
    const exchange = exchangeAuthorization(gateway.publicUrl, {
      metadata,
      clientInformation: client.information!,
      authorizationCode: outcome.redirect!.searchParams.get('code')!,
      iss: outcome.redirect!.searchParams.get('iss')!,
      codeVerifier: 'a-different-verifier-that-is-long-enough-to-be-well-formed-0123',
      redirectUri: TEST_REDIRECT_URL,
      resource: gateway.resource
    });
    await expect(exchange).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(auditEvents(gateway, 'auth_failed')).toContainEqual(
      expect.objectContaining({
        detail: expect.objectContaining({ endpoint: 'token', error: 'invalid_grant' })
      })
    );
  });

  it.each([
    [
      'a missing code_challenge',
      { code_challenge: '', code_challenge_method: '' },
      'invalid_request',
      /PKCE/
    ],
    ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request', /code_challenge_method/],
    ['a missing resource', { resource: '' }, 'invalid_target', /resource parameter is required/],
    [
      'another resource',
      { resource: 'https://elsewhere.example/mcp' },
      'invalid_target',
      /only issues tokens for/
    ]
  ])('refuses an authorization request with %s', async (_case, params, error, description) => {
    const clientId = await registeredClient(gateway);
    const res = await new ConsentBrowser(gateway.publicUrl).open(authorizationUrl(gateway, clientId, params));
    expect(res.redirect?.origin + (res.redirect?.pathname ?? '')).toBe(TEST_REDIRECT_URL);
    expect(res.redirect?.searchParams.get('error')).toBe(error);
    expect(res.redirect?.searchParams.get('error_description')).toMatch(description);
    expect(res.redirect?.searchParams.has('code')).toBe(false);
  });

  it('refuses a token request for another resource', async () => {
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const outcome = await new ConsentBrowser(gateway.publicUrl).approve(client.authorizationUrl!, PASSWORD);
    const res = await tokenRequest(gateway, {
      grant_type: 'authorization_code',
      code: outcome.redirect!.searchParams.get('code')!,
      code_verifier: client.verifier,
      redirect_uri: TEST_REDIRECT_URL,
      client_id: client.information!.client_id,
      resource: 'https://elsewhere.example/mcp'
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_target' });
  });

  it('shows the form again after a wrong admin password, and approves the right one on the same page', async () => {
    const client = new MemoryOAuthClient('mistyping owner');
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(client.authorizationUrl!);
    expect(page.html).toContain('mistyping owner');
    expect(page.html).toContain('name="password"');
    const retry = await browser.submit(page.url, page.html, { password: 'wrong', decision: 'approve' });
    expect(retry.status).toBe(403);
    expect(retry.redirect).toBeUndefined();
    expect(retry.html).toContain(`Wrong admin password. ${PASSWORD_TRIES - 1} tries left`);
    expect(retry.html).toContain('name="password"');
    expect(auditEvents(gateway, 'auth_failed')).toContainEqual(
      expect.objectContaining({
        principal: `oauth:${client.information!.client_id}`,
        remoteAddress: expect.stringContaining('127.0.0.1'),
        detail: expect.objectContaining({ reason: 'wrong admin password on the consent page' })
      })
    );
    const outcome = await browser.submit(page.url, retry.html, { password: PASSWORD, decision: 'approve' });
    expect(outcome.redirect?.searchParams.get('code')).toBeTruthy();
    const principal = `oauth:${client.information!.client_id}`;
    expect(auditEvents(gateway, 'consent_denied').filter(entry => entry.principal === principal)).toEqual([]);
  });

  it('denies and audits the request after too many wrong admin passwords', async () => {
    const client = new MemoryOAuthClient('guessing client');
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(client.authorizationUrl!);
    const statuses: number[] = [];
    let outcome: BrowserOutcome | undefined;
    for (let attempt = 0; attempt < PASSWORD_TRIES; attempt++) {
      outcome = await browser.submit(page.url, page.html, {
        password: `wrong ${attempt}`,
        decision: 'approve'
      });
      statuses.push(outcome.status);
    }
    expect(statuses.slice(0, -1)).toEqual(Array(PASSWORD_TRIES - 1).fill(403));
    expect(outcome!.redirect?.searchParams.get('error')).toBe('access_denied');
    expect(outcome!.redirect?.searchParams.has('code')).toBe(false);
    expect(auditEvents(gateway, 'consent_denied')).toContainEqual(
      expect.objectContaining({
        principal: `oauth:${client.information!.client_id}`,
        detail: expect.objectContaining({
          clientId: client.information!.client_id,
          reason: `wrong admin password, ${PASSWORD_TRIES} times`
        })
      })
    );
  });

  it('denies when the owner presses Deny', async () => {
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(client.authorizationUrl!);
    const outcome = await browser.submit(page.url, page.html, { password: PASSWORD, decision: 'deny' });
    expect(outcome.redirect?.searchParams.get('error')).toBe('access_denied');
    expect(auditEvents(gateway, 'consent_denied')).toContainEqual(
      expect.objectContaining({ detail: expect.objectContaining({ reason: 'the owner denied access' }) })
    );
  });

  it('refuses a consent form posted without the interaction cookie (CSRF) or from another origin', async () => {
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(client.authorizationUrl!);

    const crossSite = await browser.submit(
      page.url,
      page.html,
      { password: PASSWORD, decision: 'approve' },
      { origin: 'https://attacker.example' }
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.redirect).toBeUndefined();

    const attacker = new ConsentBrowser(gateway.publicUrl);
    const forged = await attacker.submit(page.url, page.html, { password: PASSWORD, decision: 'approve' });
    expect(forged.status).toBe(400);
    expect(forged.redirect).toBeUndefined();
    expect(forged.html).toContain('no longer valid');

    // The genuine browser can still answer: neither refusal consumed the request.
    const genuine = await browser.submit(page.url, page.html, { password: PASSWORD, decision: 'approve' });
    expect(genuine.redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('asks for the password again for a new client in the same browser, and answers each request once', async () => {
    const browser = new ConsentBrowser(gateway.url);
    const first = new MemoryOAuthClient('first client');
    await auth(first, { serverUrl: gateway.resource });
    const firstPage = await browser.open(first.authorizationUrl!);
    const approved = await browser.submit(firstPage.url, firstPage.html, {
      password: PASSWORD,
      decision: 'approve'
    });
    expect(approved.redirect?.searchParams.get('code')).toBeTruthy();

    const replay = await browser.submit(firstPage.url, firstPage.html, {
      password: PASSWORD,
      decision: 'approve'
    });
    expect(replay.status).toBe(400);
    expect(replay.redirect).toBeUndefined();

    const second = new MemoryOAuthClient('second client');
    await auth(second, { serverUrl: gateway.resource });
    const secondPage = await browser.open(second.authorizationUrl!);
    expect(secondPage.redirect).toBeUndefined();
    expect(secondPage.html).toContain('second client');
    expect(secondPage.html).toContain('name="password"');
  });

  it('answers one of two forms sent at once for the same request, and refuses the other', async () => {
    const client = new MemoryOAuthClient('raced client');
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.url);
    const page = await browser.open(client.authorizationUrl!);
    const post = (password: string) =>
      browser.fetch(page.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
        body: new URLSearchParams({ password, decision: 'approve' }).toString()
      });
    const statuses = (await Promise.all([post(PASSWORD), post(PASSWORD)])).map(res => res.status).sort();
    expect(statuses).toEqual([303, 400]);
    const answers = [
      ...auditEvents(gateway, 'consent_approved'),
      ...auditEvents(gateway, 'consent_denied')
    ].filter(entry => entry.principal === `oauth:${client.information!.client_id}`);
    expect(answers).toHaveLength(1);
  });

  it('refuses a consent form for another interaction than the cookie names', async () => {
    const first = new MemoryOAuthClient();
    await auth(first, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(first.authorizationUrl!);
    const otherUid = 'A'.repeat(21);
    const forged = await browser.submit(
      page.url,
      page.html.replace(/action="\/oauth\/consent\/[^"]+"/, `action="/oauth/consent/${otherUid}"`),
      { password: PASSWORD, decision: 'approve' }
    );
    expect(forged.status).toBe(400);
    expect(forged.redirect).toBeUndefined();
  });

  it('serves a consent page with a strict CSP, no external assets and escaped client names', async () => {
    const client = new MemoryOAuthClient('<script>alert(1)</script>');
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const res = await browser.fetch(client.authorizationUrl!, { method: 'GET' });
    const consent = await browser.fetch(new URL(res.headers.get('location')!, gateway.publicUrl), {
      method: 'GET'
    });
    expect(consent.headers.get('content-security-policy')).toMatch(
      /default-src 'none'.*frame-ancestors 'none'/
    );
    expect(consent.headers.get('x-frame-options')).toBe('DENY');
    const html = await consent.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('accepts a confidential registration (client_secret_post), as Claude.ai registers', async () => {
    const res = await fetch(`${gateway.publicUrl}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'claudeai',
        redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'claudeai'
      })
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_endpoint_auth_method: 'client_secret_post' });
    expect(body.client_secret).toEqual(expect.any(String));
    expect(body).not.toHaveProperty('registration_access_token');
  });

  it('resolves undefined for tokens that are not its own', async () => {
    await expect(
      gateway.oauth.verifier.verify('mgw_0123456789abcdefghijklmnopqrstuv')
    ).resolves.toBeUndefined();
    await expect(
      gateway.oauth.verifier.verify('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')
    ).resolves.toBeUndefined();
    await expect(gateway.oauth.verifier.verify('x'.repeat(43))).resolves.toBeUndefined();
  });
});

describe('the OAuth server, in other settings', () => {
  it('refuses an expired access token', async () => {
    const gateway = await startGateway({ accessTokenTtl: 1 });
    const client = await authorize(gateway);
    await new Promise(resolve => setTimeout(resolve, 2100));
    await expect(gateway.oauth.verifier.verify(client.saved!.access_token)).rejects.toThrow(/expired/);
  });

  it("refuses a token issued for another gateway's resource (audience)", async () => {
    const dir = stateDir();
    const first = await startGateway({ dir });
    const client = await authorize(first);
    const second = await startGateway({ dir });
    expect(second.resource).not.toBe(first.resource);
    await expect(second.oauth.verifier.verify(client.saved!.access_token)).rejects.toThrow(
      /another resource/
    );
  });

  it('keeps keys, clients, grants and tokens across a restart on the same database', async () => {
    const dir = stateDir();
    const first = await startGateway({ dir });
    const client = await authorize(first);
    const jwks: unknown = await (await fetch(`${first.url}/oauth/jwks`)).json();
    await first.close();
    const second = await startGateway({ dir, publicUrl: first.publicUrl });
    expect(await (await fetch(`${second.url}/oauth/jwks`)).json()).toEqual(jwks);
    await expect(second.oauth.verifier.verify(client.saved!.access_token)).resolves.toMatchObject({
      kind: 'oauth'
    });
    expect((await second.oauth.grants()).map(g => g.clientId)).toContain(client.information!.client_id);
  });

  it('tells the owner to set an admin password when none is set, and approves nothing', async () => {
    const gateway = await startGateway({ password: null });
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.publicUrl);
    const page = await browser.open(client.authorizationUrl!);
    expect(page.status).toBe(200);
    expect(page.html).toContain('mcp-gateway admin set-password');
    expect(page.html).not.toContain('name="password"');
    const res = await browser.fetch(page.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.publicUrl },
      body: new URLSearchParams({ password: '', decision: 'approve' }).toString()
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('location')).toBeNull();
    expect(auditEvents(gateway, 'consent_approved')).toEqual([]);
  });

  it('takes one answer per request and limits consent forms per address', async () => {
    const gateway = await startGateway({ consentAttemptsPerMinute: 4 });
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.url);
    const page = await browser.open(client.authorizationUrl!);
    const statuses: number[] = [];
    for (const password of ['wrong', PASSWORD, PASSWORD, PASSWORD]) {
      const res = await browser.fetch(page.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
        body: new URLSearchParams({ password, decision: 'approve' }).toString()
      });
      statuses.push(res.status);
    }
    // A wrong guess shows the form again; the right password answers the request, which the next
    // form then finds answered; the fifth form within the minute is limited.
    const limited = await browser.fetch(page.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
      body: new URLSearchParams({ password: PASSWORD, decision: 'approve' }).toString()
    });
    statuses.push(limited.status);
    expect(statuses).toEqual([403, 303, 400, 400, 429]);
    expect(auditEvents(gateway, 'consent_approved')).toHaveLength(1);
    expect(auditEvents(gateway, 'consent_denied')).toHaveLength(0);
  });

  it('stops taking consent forms once the wrong passwords from all addresses reach their bound', async () => {
    const gateway = await startGateway({ passwordGuesses: new PasswordGuesses(2) });
    const client = new MemoryOAuthClient();
    await auth(client, { serverUrl: gateway.resource });
    const browser = new ConsentBrowser(gateway.url);
    const page = await browser.open(client.authorizationUrl!);
    const statuses: number[] = [];
    for (const password of ['wrong', 'wrong again', PASSWORD]) {
      const res = await browser.fetch(page.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
        body: new URLSearchParams({ password, decision: 'approve' }).toString()
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([403, 403, 429]);
    expect(auditEvents(gateway, 'consent_approved')).toHaveLength(0);
  });

  it('forgets registrations that never obtained a grant, and keeps those that did', async () => {
    const gateway = await startGateway();
    const unused = await registeredClient(gateway);
    const used = await authorize(gateway);
    new OAuthModelStore(gateway.db).prune(Math.floor(Date.now() / 1000) + 2 * 86_400);
    const page = await new ConsentBrowser(gateway.url).open(authorizationUrl(gateway, unused, {}));
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid_client');
    const kept = await new ConsentBrowser(gateway.url).open(
      authorizationUrl(gateway, used.information!.client_id, {})
    );
    expect(kept.html).toContain('name="password"');
  });

  it('keeps the issuer on the https public URL behind a proxy, whatever Host and X-Forwarded-* say', async () => {
    const gateway = await startGateway({ publicUrl: 'https://gateway.example.com' });
    expect(gateway.oauth.issuer).toBe('https://gateway.example.com');
    expect(gateway.oauth.resource).toBe('https://gateway.example.com/mcp');
    const res = await fetch(`${gateway.url}/.well-known/oauth-authorization-server`, {
      headers: {
        host: 'attacker.example',
        'x-forwarded-host': 'attacker.example',
        'x-forwarded-proto': 'http'
      }
    });
    expect(await res.json()).toMatchObject({
      issuer: 'https://gateway.example.com',
      authorization_endpoint: 'https://gateway.example.com/oauth/authorize',
      token_endpoint: 'https://gateway.example.com/oauth/token',
      jwks_uri: 'https://gateway.example.com/oauth/jwks'
    });
  });

  it.each([
    ['http on a public host', 'http://gateway.example.com', true, /must be https/],
    ['loopback http without allowInsecure', 'http://127.0.0.1:8000', false, /must be https/],
    ['a path', 'https://gateway.example.com/mcp-gateway', false, /without a path/],
    ['not a URL', 'gateway.example.com', false, /not a URL/]
  ])('refuses a publicUrl with %s', async (_case, publicUrl, allowInsecure, message) => {
    const db = openDatabase(stateDir());
    cleanups.push(() => db.close());
    await expect(
      createOAuthServer({
        publicUrl,
        allowInsecure,
        db,
        settings: new SettingsStore(db),
        audit: new AuditLog(db),
        log: pino({ level: 'silent' }),
        stateDir: '/unused'
      })
    ).rejects.toThrow(message);
  });
});

describe('Client ID Metadata Documents', () => {
  const CLIENT_ID = 'https://client.example/oauth/metadata.json';
  let served: { status: number; body: string } = { status: 200, body: '' };
  let fetched: string[] = [];
  const fakeFetch: typeof fetch = (input: RequestInfo | URL) => {
    const url = input instanceof Request ? input.url : String(input);
    fetched.push(url);
    return Promise.resolve(
      new Response(served.body, { status: served.status, headers: { 'content-type': 'application/json' } })
    );
  };
  const document = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      client_id: CLIENT_ID,
      client_name: 'metadata client',
      redirect_uris: [TEST_REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...overrides
    });

  it('authorizes a client whose client_id is its metadata document URL, without registration', async () => {
    const gateway = await startGateway({ fetch: fakeFetch });
    served = { status: 200, body: document() };
    fetched = [];
    const client = await authorize(gateway, new MemoryOAuthClient('metadata client', CLIENT_ID));
    expect(client.information!.client_id).toBe(CLIENT_ID);
    expect(fetched).toContain(CLIENT_ID);
    await expect(gateway.oauth.verifier.verify(client.saved!.access_token)).resolves.toEqual({
      id: `oauth:${CLIENT_ID}`,
      kind: 'oauth',
      admin: false
    });
    expect(auditEvents(gateway, 'client_registered')).toEqual([]);
  });

  it.each([
    ['cannot be fetched', { status: 404, body: 'not found' }],
    ['names another client_id', { status: 200, body: document({ client_id: 'https://other.example/x' }) }],
    ['is larger than 5 KiB', { status: 200, body: document({ client_name: 'x'.repeat(6000) }) }]
  ])('refuses the authorization request, on a page, when the document %s', async (_case, response) => {
    const gateway = await startGateway({ fetch: fakeFetch });
    served = response;
    const url = authorizationUrl(gateway, CLIENT_ID, {});
    const page = await new ConsentBrowser(gateway.publicUrl).open(url);
    expect(page.redirect).toBeUndefined();
    expect(page.status).toBe(400);
    expect(page.html).toMatch(/invalid_client/);
    // The document is at fault, not a forgotten registration.
    expect(page.html).not.toContain('registers anew');
  });

  it('lets a client whose document lists a loopback redirect URI come back on any port (RFC 8252)', async () => {
    const gateway = await startGateway({ fetch: fakeFetch });
    // No port and no application_type: a native app's document, written before it knows its port.
    served = { status: 200, body: document({ redirect_uris: ['http://localhost/callback'] }) };
    const url = authorizationUrl(gateway, CLIENT_ID, { redirect_uri: 'http://localhost:54321/callback' });
    const page = await new ConsentBrowser(gateway.publicUrl).open(url);
    expect(page.status, page.html.slice(0, 300)).toBe(200);
    expect(page.html).toContain('Allow access to this gateway?');
  });
});
