import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteLogins } from '../../src/connectors/oauth/remote-logins.js';
import { RemoteOAuthProvider } from '../../src/connectors/oauth/remote-oauth-provider.js';
import {
  CLIENT_METADATA_PATH,
  createRemoteOAuthRouter,
  gatewayClientAt
} from '../../src/http/remote-oauth/remote-oauth-router.js';
import { loadCredentialKey } from '../../src/store/credential-key.js';
import { RemoteCredentialStore } from '../../src/store/remote-credential-store.js';
import { memoryDatabase } from '../support/memory-database.js';

const oauth = {
  clientId: undefined,
  clientSecret: undefined,
  scope: undefined,
  credentials: 'shared'
} as const;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function store(): RemoteCredentialStore {
  const dir = mkdtempSync(path.join(tmpdir(), 'remote-oauth-unit-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return new RemoteCredentialStore(memoryDatabase(), () => loadCredentialKey(dir));
}

async function serve(app: express.Express): Promise<string> {
  const server: Server = createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the gateway as OAuth client', () => {
  it('serves its Client ID Metadata Document at its https publicUrl, with the document URL as client_id', async () => {
    const client = gatewayClientAt('https://gateway.example.com/');
    expect(client).toEqual({
      redirectUrl: 'https://gateway.example.com/remote-oauth/callback',
      clientMetadataUrl: `https://gateway.example.com${CLIENT_METADATA_PATH}`
    });
    const app = express();
    app.use(createRemoteOAuthRouter(new RemoteLogins({ store: store(), client }), client));
    const res = await fetch(`${await serve(app)}${CLIENT_METADATA_PATH}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      client_id: `https://gateway.example.com${CLIENT_METADATA_PATH}`,
      client_name: 'mcp-gateway',
      redirect_uris: ['https://gateway.example.com/remote-oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    });
  });

  it('has no metadata document on plain http (authorization servers fetch them over https only)', async () => {
    const client = gatewayClientAt('http://127.0.0.1:8000');
    expect(client.clientMetadataUrl).toBeUndefined();
    const app = express();
    app.use(createRemoteOAuthRouter(new RemoteLogins({ store: store(), client }), client));
    expect((await fetch(`${await serve(app)}${CLIENT_METADATA_PATH}`)).status).toBe(404);
  });

  it('offers the document URL to the SDK unless a clientId is configured', () => {
    const client = gatewayClientAt('https://gateway.example.com');
    const base = { serverId: 'docs', principal: '', serverUrl: new URL('https://docs.example/mcp'), client };
    expect(new RemoteOAuthProvider({ ...base, oauth, store: store() }).clientMetadataUrl).toBe(
      client.clientMetadataUrl
    );
    const preset = new RemoteOAuthProvider({
      ...base,
      oauth: { ...oauth, clientId: 'preset', clientSecret: 's3cret' },
      store: store()
    });
    expect(preset.clientMetadataUrl).toBeUndefined();
    expect(preset.clientInformation()).toEqual({ client_id: 'preset', client_secret: 's3cret' });
    expect(preset.clientMetadata.token_endpoint_auth_method).toBe('client_secret_basic');
  });

  it('registers anew when the stored client was made for another callback or metadata document', () => {
    const credentials = store();
    const at = (origin: string) =>
      new RemoteOAuthProvider({
        serverId: 'docs',
        principal: '',
        serverUrl: new URL('https://docs.example/mcp'),
        client: gatewayClientAt(origin),
        oauth,
        store: credentials
      });
    const before = at('http://127.0.0.1:8000');
    before.saveClientInformation({ client_id: 'dcr-1', redirect_uris: [before.redirectUrl] });
    expect(before.clientInformation()).toMatchObject({ client_id: 'dcr-1' });
    expect(at('http://127.0.0.1:9000').clientInformation()).toBeUndefined();

    const public1 = at('https://gw1.example');
    public1.saveClientInformation({ client_id: public1.clientMetadataUrl! });
    expect(public1.clientInformation()).toEqual({ client_id: public1.clientMetadataUrl });
    expect(at('https://gw2.example').clientInformation()).toBeUndefined();
  });

  it('keeps one principal’s tokens from another’s calls', async () => {
    const shared = store();
    const client = gatewayClientAt('https://gateway.example.com');
    const logins = new RemoteLogins({ store: shared, client });
    logins.register({
      id: 'docs',
      url: new URL('https://docs.example/mcp'),
      oauth: { ...oauth, credentials: 'per-user' }
    });
    logins.provider('docs', 'alice').saveTokens({ access_token: 'alice-token', token_type: 'Bearer' });
    await expect(logins.provider('docs', 'alice').tokens()).resolves.toMatchObject({
      access_token: 'alice-token'
    });
    await expect(logins.provider('docs', 'bob').tokens()).rejects.toMatchObject({
      code: 'login_required',
      message: expect.stringContaining('for bob')
    });
    expect(logins.status('docs', 'alice').loggedIn).toBe(true);
    expect(logins.status('docs', 'bob').loggedIn).toBe(false);
  });
});
