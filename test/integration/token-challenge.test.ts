import { afterEach, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { fixtureConfig } from '../support/fixture-config.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { MemoryOAuthClient } from '../support/oauth-test-client.js';
import { rawInitialize } from '../support/raw-session.js';

// A client that has no token for a gateway in `auth.mode: token` (Claude Code added without
// --header) must learn that a bearer token is missing, not that OAuth registration failed.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(fixtureConfig('auth: { mode: token }'));
  cleanups.push(() => gateway.dispose());
  return gateway;
}

describe('a client without a token in auth.mode token', () => {
  it('gets a 401 that says a bearer token is required, and no authorization server to try', async () => {
    const gateway = await start();
    const refused = await rawInitialize(gateway.url);
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer realm="mcp-gateway"/);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain('error_description="a bearer token is required');
    expect(challenge).not.toContain('resource_metadata');

    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration'
    ]) {
      const response = await fetch(new URL(path, gateway.url));
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toMatchObject({
        error: 'invalid_request',
        error_description: expect.stringContaining('--header "Authorization: Bearer <token>"')
      });
    }
  });

  it('shows an OAuth-capable client (like Claude Code) the fix instead of a bare registration 404', async () => {
    const gateway = await start();
    const client = new Client({ name: 'claude-code-like', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(gateway.url, {
      authProvider: new MemoryOAuthClient('claude-code-like')
    });
    cleanups.push(() => client.close());
    await expect(client.connect(transport)).rejects.toMatchObject({
      message: expect.stringMatching(
        /a bearer token is required.*--header \\"Authorization: Bearer <token>\\"/
      )
    });
  });
});
