import { afterAll, describe, expect, it } from 'vitest';
import { connect, EVERYTHING_SERVER, GatewayProcess, textOf } from '../support/gateway-process.js';

/** What a corporate network sets: proxies in both spellings, and where its CA certificates are. */
const NETWORK = {
  HTTPS_PROXY: 'http://proxy.example:3128',
  HTTP_PROXY: 'http://proxy.example:3128',
  NO_PROXY: 'localhost,127.0.0.1,.internal',
  https_proxy: 'http://proxy.example:3129',
  http_proxy: 'http://proxy.example:3129',
  no_proxy: '.corp',
  NODE_EXTRA_CA_CERTS: '/etc/ssl/corp-ca.pem',
  SSL_CERT_FILE: '/etc/ssl/corp-bundle.pem',
  SSL_CERT_DIR: '/etc/ssl/corp-certs'
};

describe('a local-process server', () => {
  let gateway: GatewayProcess | undefined;
  afterAll(() => gateway?.dispose());

  it("gets the gateway's proxy and CA settings, and still none of its other variables", async () => {
    gateway = await GatewayProcess.start(
      `
servers:
  everything:
    command: ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
    env: { SSL_CERT_DIR: "/srv/own-certs" }
`,
      { env: { ...NETWORK, MCP_GATEWAY_TEST_SECRET: 'for another server' } }
    );
    const client = await connect(gateway.url, 'legacy');
    try {
      const result = await client.callTool({ name: 'everything__get-env', arguments: {} });
      const env = JSON.parse(textOf(result)) as Record<string, string>;
      // The server's own env wins over what it inherits.
      expect(env).toMatchObject({ ...NETWORK, SSL_CERT_DIR: '/srv/own-certs' });
      expect(env).not.toHaveProperty('MCP_GATEWAY_TEST_SECRET');
    } finally {
      await client.close();
    }
  });
});
