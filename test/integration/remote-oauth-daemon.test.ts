import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  textOf,
  waitUntil
} from '../support/gateway-process.js';
import { ConsentBrowser } from '../support/oauth-test-client.js';
import { ProtectedRemote } from '../support/protected-remote.js';

/**
 * A `url:` server with `auth: oauth` end to end through two real daemons: the remote one in
 * `auth.mode: oauth` (its OAuth server, oidc-provider, guards its /mcp), and this gateway, which
 * logs in with `mcp-gateway login` and then serves the remote's tools to its own clients.
 */

const PASSWORD = 'correct horse battery staple';

let remote: ProtectedRemote;
let gateway: GatewayProcess;

beforeAll(async () => {
  remote = await ProtectedRemote.start(PASSWORD);
  gateway = await GatewayProcess.start(`
servers:
  docs:
    url: ${remote.origin}/mcp
    auth: oauth
  local:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`);
  await gateway.discovered();
}, 60_000);

afterAll(async () => {
  await gateway?.dispose();
  await remote?.dispose();
});

describe('a remote server behind OAuth', () => {
  it('asks for a login, logs in with `mcp-gateway login`, then serves its tools', async () => {
    const client = await connect(gateway.url, 'legacy');
    try {
      const before = await client.callTool({ name: 'docs__fixture__echo', arguments: { text: 'x' } }).then(
        result => textOf(result),
        (error: Error) => error.message
      );
      expect(before).toContain('mcp-gateway login docs');
      // Not counted as the server failing: the other server serves, and the remote is only waiting.
      expect(textOf(await client.callTool({ name: 'local__echo', arguments: { text: 'here' } }))).toBe(
        'here'
      );
      expect((await gateway.health()).servers.find(server => server.id === 'docs')?.state).toBe('stopped');

      const login = spawn(process.execPath, [CLI, 'login', 'docs', '--port', gateway.url.port], {
        stdio: ['ignore', 'pipe', 'pipe']
      });
      let printed = '';
      let notes = '';
      login.stdout.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
      login.stderr.setEncoding('utf8').on('data', (chunk: string) => (notes += chunk));
      const exited = new Promise<number | null>(resolve => login.once('exit', resolve));
      await waitUntil(() => printed.includes('\n'), 15_000);
      const outcome = await new ConsentBrowser(remote.origin).approve(new URL(printed.trim()), PASSWORD);
      expect(outcome.redirect?.origin).toBe(gateway.url.origin);
      expect((await fetch(outcome.redirect!)).status).toBe(200);
      expect(await exited, notes).toBe(0);

      // The login alone lists the server: its tools appear, and its last error is gone, before any
      // call (a client finds the tools by listing them, not by guessing their names).
      await waitUntil(async () => {
        const names = (await client.listTools()).tools.map(tool => tool.name);
        return names.includes('docs__fixture__echo');
      }, 10_000);
      const docs = (await gateway.health()).servers.find(server => server.id === 'docs') as
        { lastError: string | null } | undefined;
      expect(docs?.lastError).toBeNull();
      // Listed by the login itself, not by the retry of its failed discovery at start (due 5 s after).
      const failed = gateway.logs.find(line => line.msg === 'discovery failed' && line.server === 'docs');
      const listed = gateway.logs.find(line => line.msg === 'server tools changed' && line.server === 'docs');
      expect(failed?.retryInMs).toBe(5_000);
      expect(Number(listed?.time)).toBeLessThan(Number(failed?.time) + Number(failed?.retryInMs));
      expect(
        textOf(
          await client.callTool({ name: 'docs__fixture__echo', arguments: { text: 'through two gateways' } })
        )
      ).toBe('through two gateways');
    } finally {
      await client.close();
    }
  });
});
