import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PRINCIPAL_KEY, type Principal } from '../../src/auth/principal.js';

/**
 * A node:http server on a free port that hands each request to `handle` as app.ts does: the body
 * parsed as JSON (undefined when empty), the principal from an `x-test-principal` header (JSON), the
 * profile from the path (`/mcp/<profile>`). Pushed onto `servers` for the caller to close. Resolves
 * with its `/mcp` URL.
 */
export async function serveMcp(
  servers: http.Server[],
  handle: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: unknown,
    profile: string | undefined
  ) => Promise<unknown>
): Promise<URL> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const principal = req.headers['x-test-principal'];
      if (typeof principal === 'string') {
        (req as { auth?: unknown }).auth = {
          token: 't',
          clientId: 'c',
          scopes: [],
          extra: { [PRINCIPAL_KEY]: JSON.parse(principal) as Principal }
        };
      }
      const profile = /^\/mcp\/([^/?]+)/.exec(req.url ?? '')?.[1];
      const text = Buffer.concat(chunks).toString('utf8');
      void handle(req, res, text === '' ? undefined : JSON.parse(text), profile);
    });
  });
  servers.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
}
