import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, type OAuthClientProvider, type Progress } from '@modelcontextprotocol/client';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteTarget } from '../../src/config/server-spec.js';
import { UndeliveredError, type Link } from '../../src/connectors/connector.js';
import { RemoteConnector } from '../../src/connectors/remote-connector.js';
import { GatewayError } from '../../src/errors.js';
import { Everything, freePort } from '../support/everything-server.js';
import { ROOT, textOf } from '../support/gateway-process.js';

const log = pino({ level: 'silent' });
const execFileAsync = promisify(execFile);

/** Run after each test, last added first: servers stopped, links closed, files removed. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** server-everything, killed after the test. */
async function everything(mode: 'streamableHttp' | 'sse'): Promise<Everything> {
  const server = await Everything.start(mode);
  cleanups.push(() => server.kill());
  return server;
}

/** A small HTTP(S) server of the test's own; `handler` answers every request. */
async function serve(
  handler: http.RequestListener,
  tls?: { key: string; cert: string }
): Promise<{ url: (path: string) => URL; server: http.Server }> {
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise(resolve => server.close(resolve));
  });
  const { port } = server.address() as net.AddressInfo;
  return { server, url: p => new URL(`${tls ? 'https' : 'http'}://127.0.0.1:${port}${p}`) };
}

/**
 * Forwards every request to `port` on loopback, streams included; `intercept` may answer first.
 * `endings` gets, for each forwarded request, a function that ends its answer cleanly at once.
 */
function proxyTo(
  port: number,
  intercept?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
  endings?: (() => void)[]
) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (intercept?.(req, res)) return;
    const upstream = http.request(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    endings?.push(() => {
      upstream.destroy();
      res.end();
    });
    req.pipe(upstream);
  };
}

/**
 * A CONNECT proxy made for the test, and the environment that sends links through it (read when a
 * link is opened; restored after the test). Returns the `host:port` of each tunnel it opens.
 */
async function useProxy(): Promise<string[]> {
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).on('error', () => undefined);
      socket.pipe(upstream).on('error', () => undefined);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    proxy.closeAllConnections();
    return new Promise(resolve => proxy.close(resolve));
  });
  const names = [
    'NODE_USE_ENV_PROXY',
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'NO_PROXY',
    'http_proxy',
    'https_proxy',
    'no_proxy'
  ];
  const saved = Object.fromEntries(names.map(name => [name, process.env[name]]));
  cleanups.push(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  for (const name of names) delete process.env[name];
  const url = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  Object.assign(process.env, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: url, HTTPS_PROXY: url });
  return tunnels;
}

function target(url: URL, more: Partial<RemoteTarget> = {}): RemoteTarget {
  return { url, transport: 'auto', headers: {}, ca: undefined, oauth: undefined, ...more };
}

async function open(t: RemoteTarget, timeoutMs = 10_000, serverId = 'remote'): Promise<Link> {
  const link = await new RemoteConnector({ serverId, target: t, timeoutMs, log }).open(
    new AbortController().signal
  );
  cleanups.push(() => link.close());
  return link;
}

/** An SDK client over the link, negotiating its era as the gateway's upstream does. */
async function clientOver(link: Link): Promise<Client> {
  const client = new Client(
    { name: 'remote-connector-test', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } }
  );
  await client.connect(link.transport);
  cleanups.push(() => client.close());
  return client;
}

/** How `link` ended, or `not ended within …` when it has not within `ms`. */
function endWithin(link: Link, ms: number): Promise<unknown> {
  return Promise.race([
    link.ended,
    new Promise(resolve => setTimeout(resolve, ms, `not ended within ${ms} ms`))
  ]);
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe.each([
  ['streamableHttp', 'streamable-http'],
  ['sse', 'sse']
] as const)('a server-everything in %s mode', (mode, transport) => {
  let server: Everything;

  beforeAll(async () => {
    server = await Everything.start(mode);
    return () => server.kill();
  });

  it.each(['auto', transport] as const)(
    'serves tools, prompts, resources and progress over a link opened with transport %s',
    async chosen => {
      const link = await open(target(server.url, { transport: chosen }));
      // Streamable HTTP has a stream per request; HTTP+SSE one stream for all: auto chose right.
      expect(Boolean(link.transport.hasPerRequestStream)).toBe(mode === 'streamableHttp');
      const client = await clientOver(link);

      const { tools } = await client.listTools();
      expect(tools.map(tool => tool.name)).toContain('echo');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toContain('hi');

      const { prompts } = await client.listPrompts();
      expect(prompts.map(prompt => prompt.name)).toContain('simple-prompt');
      const prompt = await client.getPrompt({ name: 'simple-prompt' });
      expect(JSON.stringify(prompt.messages)).toContain('simple prompt');

      const { resources } = await client.listResources();
      expect(resources.length).toBeGreaterThan(0);
      const read = await client.readResource({ uri: resources[0]!.uri });
      expect(read.contents[0]?.uri).toBe(resources[0]!.uri);

      const progress: Progress[] = [];
      const done = await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
        { onprogress: p => progress.push(p) }
      );
      expect(textOf(done)).toContain('completed');
      // Over HTTP+SSE the server sends its last progress after the result (the SDK's own
      // SSEClientTransport sees the same), so only the first two are sure to arrive.
      expect(progress.map(p => p.progress).slice(0, 2)).toEqual([1, 2]);
    }
  );

  it('cancels a call, and the link serves the next one', async () => {
    const client = await clientOver(await open(target(server.url)));
    const abort = new AbortController();
    const began = Date.now();
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 20, steps: 2 } },
      { signal: abort.signal }
    );
    setTimeout(() => abort.abort('the test cancelled it'), 300);
    await expect(call).rejects.toThrow();
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'after' } }))).toContain(
      'after'
    );
  });

  it('ends the link, lost, when the server is killed; a new open reaches it once restarted', async () => {
    const link = await open(target(server.url));
    const client = await clientOver(link);
    await client.listTools();
    await server.kill();
    // At once, from the broken stream: the SDK's own reconnection would take a second or more.
    expect(await endWithin(link, 900)).toMatchObject({ requested: false, lost: true });

    await server.restart();
    const again = await clientOver(await open(target(server.url)));
    expect(textOf(await again.callTool({ name: 'echo', arguments: { message: 'back' } }))).toContain('back');
  });
});

describe('a link to an HTTP+SSE server', () => {
  it('ends, lost, when the server ends its stream (the session goes with it)', async () => {
    const server = await everything('sse');
    const endings: (() => void)[] = [];
    const proxy = await serve(proxyTo(server.port, undefined, endings));
    const link = await open(target(proxy.url('/sse'), { transport: 'sse' }));
    const client = await clientOver(link);
    await client.listTools();
    for (const end of endings) end();
    expect(await endWithin(link, 5_000)).toMatchObject({ requested: false, lost: true });
  });
});

describe('with an OAuth provider that has no login', () => {
  /** A provider as the gateway's is without tokens: every read of them is login_required. */
  function notLoggedIn(): OAuthClientProvider {
    const refuse = () => {
      throw new GatewayError('login_required', 'server remote needs a login: run mcp-gateway login remote', {
        serverId: 'remote'
      });
    };
    return {
      redirectUrl: 'http://127.0.0.1/callback',
      clientMetadata: { redirect_uris: ['http://127.0.0.1/callback'] },
      clientInformation: () => undefined,
      tokens: refuse,
      saveTokens: () => undefined,
      redirectToAuthorization: refuse,
      saveCodeVerifier: () => undefined,
      codeVerifier: () => ''
    };
  }

  it.each(['streamableHttp', 'sse'] as const)(
    "an open of a %s server fails with the provider's own error",
    async mode => {
      const server = await everything(mode);
      const connector = new RemoteConnector({
        serverId: 'remote',
        target: target(server.url, { transport: mode === 'sse' ? 'sse' : 'auto' }),
        timeoutMs: 5_000,
        log,
        authProvider: notLoggedIn()
      });
      const error = await failure(connector.open(new AbortController().signal));
      expect(error.code).toBe('login_required');
      expect(error.message).toContain('run mcp-gateway login remote');
    }
  );
});

describe('a link to a Streamable HTTP server', () => {
  let server: Everything;

  beforeAll(async () => {
    server = await Everything.start('streamableHttp');
    return () => server.kill();
  });

  it('sends its headers with every request', async () => {
    const seen: (string | undefined)[] = [];
    const proxy = await serve(
      proxyTo(server.port, req => {
        seen.push(req.headers['x-api-key'] as string | undefined);
        return false;
      })
    );
    const client = await clientOver(
      await open(target(proxy.url('/mcp'), { headers: { 'X-Api-Key': 'k-123' } }))
    );
    await client.callTool({ name: 'echo', arguments: { message: 'x' } });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set(['k-123']));
  });

  it('follows a redirect within its origin, and refuses one to another origin, sending it nothing', async () => {
    const moved = await serve((req, res) => {
      if (req.url !== '/old') return proxyTo(server.port)(req, res);
      res.writeHead(307, { location: '/mcp' });
      res.end();
    });
    const client = await clientOver(await open(target(moved.url('/old'))));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'moved' } }))).toContain(
      'moved'
    );

    const keys: unknown[] = [];
    const elsewhere = await serve(
      proxyTo(server.port, req => {
        keys.push(req.headers['x-api-key']);
        return false;
      })
    );
    const away = await serve((_req, res) => {
      res.writeHead(307, { location: elsewhere.url('/mcp').href });
      res.end();
    });
    const error = await failure(
      open(target(away.url('/mcp'), { headers: { 'X-Api-Key': 'secret' } }), 5_000, 'away')
    );
    expect(error.code).toBe('remote_invalid');
    expect(error.message).toContain(
      `it redirects to another origin (${elsewhere.url('/mcp').href}), which the gateway does not follow`
    );
    expect(keys).toEqual([]);
  });

  it("goes through HTTP_PROXY when NODE_USE_ENV_PROXY is 1, as Node's own fetch would", async () => {
    const tunnels = await useProxy();
    const client = await clientOver(await open(target(server.url)));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'proxied' } }))).toContain(
      'proxied'
    );
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([`127.0.0.1:${server.port}`]));
  });

  it('ends requested when closed', async () => {
    const link = await open(target(server.url));
    await clientOver(link);
    await link.close();
    await expect(link.ended).resolves.toMatchObject({ requested: true });
  });

  it('rejects a send with UndeliveredError when its session has expired (404), and ends', async () => {
    let expired = false;
    const proxy = await serve(
      proxyTo(server.port, (req, res) => {
        if (!expired || req.headers['mcp-session-id'] === undefined || req.method !== 'POST') return false;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })
        );
        return true;
      })
    );
    const link = await open(target(proxy.url('/mcp')));
    const client = await clientOver(link);
    await client.listTools();
    expired = true;
    await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toBeInstanceOf(
      UndeliveredError
    );
    await expect(link.ended).resolves.toEqual({
      reason: 'remote session expired (404)',
      requested: false,
      lost: true
    });
  });

  it('rejects a send with UndeliveredError when the server is gone before it was sent', async () => {
    const own = await everything('streamableHttp');
    const link = await open(target(own.url));
    await link.transport.start();
    await own.kill();
    await expect(link.transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toBeInstanceOf(
      UndeliveredError
    );
    await expect(link.ended).resolves.toMatchObject({ requested: false, lost: true });
  });
});

describe('TLS', () => {
  let dir: string;
  let pem: { key: string; cert: string };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'remote-tls-'));
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1']
        .concat(['-addext', 'subjectAltName=IP:127.0.0.1'])
        .concat(['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]),
      { encoding: 'utf8' }
    );
    expect(made.status, made.stderr).toBe(0);
    pem = {
      key: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8')
    };
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a self-signed certificate without ca:, saying to give one', async () => {
    const tls = await serve((_req, res) => res.end('{}'), pem);
    const error = await failure(open(target(tls.url('/mcp')), 5_000, 'secure'));
    expect(error.code).toBe('remote_unreachable');
    expect(error.serverId).toBe('secure');
    expect(error.message).toContain(`server secure (${tls.url('/mcp').href})`);
    expect(error.message).toMatch(/TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect(error.message).toContain('ca:');
  });

  it('trusts ca: besides NODE_EXTRA_CA_CERTS, not instead of it (a gateway process of its own)', async () => {
    // Node reads NODE_EXTRA_CA_CERTS once, at start: a child process opens both links.
    const other = path.join(dir, 'other');
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1']
        .concat(['-addext', 'subjectAltName=IP:127.0.0.1'])
        .concat(['-keyout', `${other}-key.pem`, '-out', `${other}-cert.pem`]),
      { encoding: 'utf8' }
    );
    expect(made.status, made.stderr).toBe(0);
    const answer: http.RequestListener = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'no session' } }));
    };
    const viaEnv = await serve(answer, pem);
    const viaCa = await serve(answer, {
      key: readFileSync(`${other}-key.pem`, 'utf8'),
      cert: readFileSync(`${other}-cert.pem`, 'utf8')
    });
    const script = `
      import { RemoteConnector } from ${JSON.stringify(path.join(ROOT, 'dist', 'connectors', 'remote-connector.js'))};
      import { readFileSync } from 'node:fs';
      import { pino } from 'pino';
      const ca = readFileSync(${JSON.stringify(`${other}-cert.pem`)}, 'utf8');
      for (const url of process.argv.slice(1)) {
        const target = { url: new URL(url), transport: 'streamable-http', headers: {}, ca, oauth: undefined };
        const connector = new RemoteConnector({ serverId: 'tls', target, timeoutMs: 5000, log: pino({ level: 'silent' }) });
        const outcome = await connector.open(new AbortController().signal).then(link => (link.close(), 'open'), e => e.message);
        console.log(outcome);
      }`;
    // Asynchronously: the servers it opens links to answer from this process.
    const child = await execFileAsync(
      process.execPath,
      ['--input-type=module', '-e', script, viaEnv.url('/mcp').href, viaCa.url('/mcp').href],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem') }
      }
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n')).toEqual(['open', 'open']);
  });

  it("trusts ca: inside a proxy's tunnel too", async () => {
    const server = await everything('streamableHttp');
    const tls = await serve(proxyTo(server.port), pem);
    const tunnels = await useProxy();
    const client = await clientOver(await open(target(tls.url('/mcp'), { ca: pem.cert })));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'both' } }))).toContain('both');
    expect(new Set(tunnels)).toEqual(new Set([tls.url('/').host]));
  });

  it("trusts the server's ca: for that server, end to end", async () => {
    const server = await everything('streamableHttp');
    const tls = await serve(proxyTo(server.port), pem);
    const client = await clientOver(await open(target(tls.url('/mcp'), { ca: pem.cert })));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'tls' } }))).toContain('tls');
  });
});

describe('bad input: a clear error naming the server and the URL, within the timeout', () => {
  it('an unreachable URL (nothing listens)', async () => {
    const url = new URL(`http://127.0.0.1:${await freePort()}/mcp`);
    const error = await failure(open(target(url), 5_000, 'gone'));
    expect(error.code).toBe('remote_unreachable');
    expect(error.message).toBe(
      `server gone (${url.href}) is unreachable: connection refused; check that the server runs at that address and port`
    );
  });

  it("never names a URL's query, which may carry a key", async () => {
    const url = new URL(`http://127.0.0.1:${await freePort()}/mcp?api_key=secret-123`);
    const error = await failure(open(target(url), 5_000, 'keyed'));
    expect(error.message).toContain(`server keyed (${url.origin}/mcp?…)`);
    expect(error.message).not.toContain('secret-123');
  });

  it('an open the gateway gives up (shutting down) ends at once', async () => {
    const hanging = await serve(() => undefined);
    const shutdown = new AbortController();
    const connector = new RemoteConnector({
      serverId: 'slow',
      target: target(hanging.url('/mcp')),
      timeoutMs: 30_000,
      log
    });
    const began = Date.now();
    const opening = failure(connector.open(shutdown.signal));
    setTimeout(() => shutdown.abort(), 200);
    const error = await opening;
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(error.code).toBe('server_unavailable');
    expect(error.message).toBe('the gateway is shutting down');
  });

  it('a host name that does not resolve', async () => {
    const error = await failure(open(target(new URL('http://no-such-host.invalid/mcp')), 5_000, 'nxdomain'));
    expect(error.code).toBe('remote_unreachable');
    expect(error.message).toContain('server nxdomain (http://no-such-host.invalid/mcp)');
    expect(error.message).toContain('does not resolve');
  });

  it('an HTML page instead of MCP', async () => {
    const site = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Welcome</body></html>');
    });
    const error = await failure(open(target(site.url('/')), 5_000, 'site'));
    expect(error.code).toBe('remote_invalid');
    expect(error.message).toContain(`server site (${site.url('/').href}) does not speak MCP there`);
    expect(error.message).toContain('a POST got an HTML page, HTTP 200 (text/html)');
    expect(error.message).toContain('a GET for an HTTP+SSE stream got text/html');
    // The advice is a whole sentence (it once ended at "and its transport:").
    expect(error.message).toMatch(/and that transport: \(or type:\) names the transport it speaks$/);
  });

  it('HTTP 500', async () => {
    const broken = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('database is down');
    });
    const error = await failure(open(target(broken.url('/mcp')), 5_000, 'broken'));
    expect(error.code).toBe('remote_unreachable');
    expect(error.message).toContain(`server broken (${broken.url('/mcp').href}) failed`);
    expect(error.message).toContain('HTTP 500 Internal Server Error: database is down');
  });

  it.each(['application/json', 'text/event-stream'])(
    'a server that sends headers (%s) and then hangs',
    async type => {
      const hanging = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': type });
        res.flushHeaders();
      });
      const began = Date.now();
      const error = await failure(open(target(hanging.url('/mcp')), 1_000, 'hangs'));
      expect(Date.now() - began).toBeLessThan(3_000);
      expect(error.code).toBe('remote_unreachable');
      expect(error.message).toContain(
        `server hangs (${hanging.url('/mcp').href}) answered HTTP 200 (${type}) and then sent nothing within 1s`
      );
    }
  );

  it('an SSE server that opens its stream and never names its endpoint', async () => {
    const hanging = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
    });
    const began = Date.now();
    const error = await failure(open(target(hanging.url('/sse'), { transport: 'sse' }), 1_000, 'mute'));
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(error.message).toContain('opened an SSE stream (HTTP 200) but sent no endpoint event within 1s');
  });

  it('a 401 without a login: needs OAuth', async () => {
    const guarded = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer' });
      res.end();
    });
    const error = await failure(open(target(guarded.url('/mcp')), 5_000, 'saas'));
    expect(error.code).toBe('remote_refused');
    expect(error.message).toContain(
      `server saas (${guarded.url('/mcp').href}) needs authorization (HTTP 401)`
    );
    expect(error.message).toContain(
      'this server needs OAuth: set auth: oauth on it in servers.yaml and run mcp-gateway login saas'
    );
  });

  it("a 401 for the headers' token: says the token was refused", async () => {
    const guarded = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
    });
    const error = await failure(
      open(target(guarded.url('/mcp'), { headers: { Authorization: 'Bearer stale' } }), 5_000, 'saas')
    );
    expect(error.code).toBe('remote_refused');
    expect(error.message).toContain('refused the token in its headers (HTTP 401)');
  });

  it('a 404 on both transports', async () => {
    const nothing = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    });
    const error = await failure(open(target(nothing.url('/nope')), 5_000, 'typo'));
    expect(error.code).toBe('remote_invalid');
    expect(error.message).toContain(
      'a POST got HTTP 404 (text/plain), and a GET for an HTTP+SSE stream got HTTP 404'
    );
  });
});
