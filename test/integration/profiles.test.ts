import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auth,
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport
} from '@modelcontextprotocol/client';
import { shortenToolName } from '../../src/catalog/tool-names.js';
import {
  CLI,
  FIXTURE_SERVER,
  GatewayProcess,
  setAdminPassword,
  textOf,
  waitUntil
} from '../support/gateway-process.js';
import { ConsentBrowser, MemoryOAuthClient } from '../support/oauth-test-client.js';

/**
 * Profiles (`profiles:` in servers.yaml) served at `/mcp/<profile>` and `/sse/<profile>`: the real
 * daemon, SDK clients of both eras and of the old SSE transport, tokens bound with
 * `token create --profile`.
 */

/** Where the fixture server alpha logs its subscriptions (it offers resources/subscribe with it). */
const SUBSCRIPTIONS_LOG = path.join(tmpdir(), `profiles-subscriptions-${process.pid}.log`);

const CONFIG = `gateway:
  auth: { mode: token }
profiles:
  dev:
    servers: [alpha]
    tools: { deny: ['alpha__fail*'] }
  research:
    servers: [research-notes]
    maxToolNameLength: 16
servers:
  alpha:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env: { FIXTURE_SUBSCRIPTIONS: "${SUBSCRIPTIONS_LOG}" }
  research-notes:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;

let gateway: GatewayProcess;
/** An admin token bound to no profile. */
let anyToken: string;
/** A token bound to profile dev. */
let devToken: string;
const clients: Client[] = [];

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  anyToken = createToken('any', '--admin');
  devToken = createToken('dev-only', '--profile', 'dev');
  await waitUntil(async () => {
    const response = await fetch(new URL('/api/tools', gateway.url), { headers: bearer(anyToken) });
    const { tools } = (await response.json()) as { tools: unknown[] };
    return tools.length > 0;
  }, 30_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map(client => client.close().catch(() => undefined)));
  await gateway?.dispose();
  rmSync(SUBSCRIPTIONS_LOG, { force: true });
});

function createToken(name: string, ...args: string[]): string {
  const created = spawnSync(
    process.execPath,
    [
      CLI,
      'token',
      'create',
      '--name',
      name,
      ...args,
      '--config',
      `${gateway.dir}/servers.yaml`,
      '--state-dir',
      `${gateway.dir}/data`
    ],
    { encoding: 'utf8', timeout: 20_000 }
  );
  expect(created.status, created.stderr).toBe(0);
  return created.stdout.split('\n')[0]!;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const at = (path: string) => new URL(path, gateway.url);

/** An SDK client (2026 era) on `url` with `token`. */
async function connectWith(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'profiles-connect', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: bearer(token) } })
  );
  clients.push(client);
  return client;
}

async function connect(path: string, era: 'legacy' | 'modern', token = anyToken): Promise<Client> {
  const client = new Client(
    { name: `profiles-${era}`, version: '1.0.0' },
    { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(at(path), { requestInit: { headers: bearer(token) } })
  );
  clients.push(client);
  return client;
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map(tool => tool.name).sort();

/** A raw `initialize` POST to `path`: its status and JSON-RPC error message. */
async function initializeAt(path: string, token: string) {
  const response = await fetch(at(path), {
    method: 'POST',
    headers: {
      ...bearer(token),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream'
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
    })
  });
  const text = await response.text();
  return {
    status: response.status,
    message: (JSON.parse(text) as { error?: { message?: string } }).error?.message
  };
}

describe('profiles at /mcp/<profile>', () => {
  it('serves each profile only its servers, in both eras', async () => {
    const dev = await connect('/mcp/dev', 'legacy');
    const research = await connect('/mcp/research', 'modern');
    const devTools = await toolNames(dev);
    expect(devTools).toContain('alpha__echo');
    // Its deny glob leaves alpha__fail out; research-notes is not its server.
    expect(devTools).not.toContain('alpha__fail');
    expect(devTools.every(name => name.startsWith('alpha__'))).toBe(true);
    const researchTools = await toolNames(research);
    expect(researchTools.length).toBeGreaterThan(0);
    expect(researchTools.some(name => name.startsWith('alpha__'))).toBe(false);
    // The root still serves everything.
    const root = await connect('/mcp', 'modern');
    expect(await toolNames(root)).toEqual(expect.arrayContaining(['alpha__fail', 'research-notes__echo']));
  });

  it('shortens names to maxToolNameLength; the short names are callable and recorded under the real name', async () => {
    const research = await connect('/mcp/research', 'modern');
    const names = await toolNames(research);
    expect(names.every(name => name.length <= 16)).toBe(true);
    // research-notes__echo (20 characters) is listed under the codec's stable short name.
    const echo = shortenToolName('research-notes__echo', 16);
    expect(echo).toMatch(/^researc_[0-9a-f]{8}$/);
    expect(names).toContain(echo);
    const result = await research.callTool({ name: echo, arguments: { text: 'through a profile' } });
    expect(textOf(result)).toBe('through a profile');
    // Checked against the real tool's schema: a bad argument is the tool's error, named.
    const invalid = await research.callTool({ name: echo, arguments: { text: 7 } });
    expect(invalid.isError).toBe(true);
    // History records the catalog's name of the tool.
    await waitUntil(async () => {
      const response = await fetch(at('/api/requests?limit=100'), { headers: bearer(anyToken) });
      const body = (await response.json()) as { requests: { tool: string }[] };
      return body.requests.some(request => request.tool === 'research-notes__echo');
    });
    // The catalog's long name is not a name of this profile.
    const outside = await research.callTool({ name: 'research-notes__echo', arguments: { text: 'x' } }).then(
      result => ({ rejected: false, text: textOf(result), isError: result.isError }),
      (error: Error) => ({ rejected: true, text: error.message, isError: true })
    );
    expect(outside.isError).toBe(true);
    expect(outside.text).toContain('profile research');
  });

  it('records the profile a call came through, in both eras, and filters the history by it', async () => {
    const echo = shortenToolName('research-notes__echo', 16);
    const marker = `profile-history-${Date.now()}`;
    for (const era of ['modern', 'legacy'] as const) {
      const research = await connect('/mcp/research', era);
      await research.callTool({ name: echo, arguments: { text: `${marker}-${era}` } });
    }
    const root = await connect('/mcp', 'modern');
    await root.callTool({ name: 'research-notes__echo', arguments: { text: `${marker}-root` } });

    type Recorded = { tool: string; profile: string | null; sessionId: string | null };
    const history = async (query: string) => {
      const response = await fetch(at(`/api/requests?limit=1000${query}`), { headers: bearer(anyToken) });
      expect(response.status).toBe(200);
      return ((await response.json()) as { requests: Recorded[] }).requests;
    };
    let all: Recorded[] = [];
    await waitUntil(async () => {
      all = (await history('')).filter(request => request.tool === 'research-notes__echo');
      return all.length >= 3;
    });
    const through = await history('&profile=research');
    expect(through.length).toBeGreaterThanOrEqual(2);
    expect(through.every(request => request.profile === 'research')).toBe(true);
    // One call of each era through the profile (a session's and a sessionless one), and the root's none.
    expect(through.some(request => request.sessionId === null)).toBe(true);
    expect(through.some(request => request.sessionId !== null)).toBe(true);
    expect(all.some(request => request.profile === null)).toBe(true);
  });

  it('refuses a tool of another profile with an error naming the profile', async () => {
    const dev = await connect('/mcp/dev', 'legacy');
    const refused = await dev.callTool({ name: 'alpha__fail', arguments: {} }).then(
      result => textOf(result),
      (error: Error) => error.message
    );
    expect(refused).toContain('not in profile dev');
  });

  it('serves prompts and resources of the profile only, subscriptions included', async () => {
    const dev = await connect('/mcp/dev', 'legacy');
    const research = await connect('/mcp/research', 'legacy');
    expect((await dev.listPrompts()).prompts.map(prompt => prompt.name)).toContain('alpha__hello');
    expect((await research.listPrompts()).prompts.map(prompt => prompt.name)).not.toContain('alpha__hello');
    expect((await dev.getPrompt({ name: 'alpha__hello' })).messages).toHaveLength(1);
    await expect(research.getPrompt({ name: 'alpha__hello' })).rejects.toThrow(/not in profile research/);
    const uri = 'fixture://alpha+static/hello';
    expect((await dev.listResources()).resources.map(resource => resource.uri)).toContain(uri);
    expect((await research.listResources()).resources.map(resource => resource.uri)).not.toContain(uri);
    expect((await dev.readResource({ uri })).contents).toHaveLength(1);
    await expect(research.readResource({ uri })).rejects.toThrow(/not in profile research/);
    await expect(dev.subscribeResource({ uri })).resolves.toBeDefined();
    await expect(research.subscribeResource({ uri })).rejects.toThrow(/not in profile research/);
  });

  it('refuses a token bound to a profile on another profile and on the root (403), and serves it on its own', async () => {
    for (const path of ['/mcp/research', '/mcp', '/sse/research']) {
      const refused = path.startsWith('/sse')
        ? await fetch(at(path), { headers: bearer(devToken) }).then(async response => ({
            status: response.status,
            message: ((await response.json()) as { error: { message: string } }).error.message
          }))
        : await initializeAt(path, devToken);
      expect(refused.status, path).toBe(403);
      expect(refused.message).toContain('bound to profile dev');
      expect(refused.message).toContain('/mcp/dev');
    }
    const dev = await connect('/mcp/dev', 'modern', devToken);
    expect(await toolNames(dev)).toContain('alpha__echo');
  });

  it('answers an unknown profile with 404 and the known profile names', async () => {
    const unknown = await initializeAt('/mcp/nope', anyToken);
    expect(unknown.status).toBe(404);
    expect(unknown.message).toContain('Unknown profile "nope"');
    expect(unknown.message).toContain('dev, research');
  });

  it('sends list_changed only to the sessions and listeners of the profile whose lists changed', async () => {
    const devLegacy = await connect('/mcp/dev', 'legacy');
    const researchLegacy = await connect('/mcp/research', 'legacy');
    const devModern = await connect('/mcp/dev', 'modern');
    const researchModern = await connect('/mcp/research', 'modern');
    const heard = { devLegacy: 0, researchLegacy: 0, devModern: 0, researchModern: 0 };
    for (const [key, client] of Object.entries({ devLegacy, researchLegacy, devModern, researchModern })) {
      client.setNotificationHandler('notifications/tools/list_changed', () => {
        heard[key as keyof typeof heard]++;
      });
    }
    const listeners = await Promise.all([
      devModern.listen({ toolsListChanged: true }),
      researchModern.listen({ toolsListChanged: true })
    ]);
    // research-notes gains a tool: research's lists change, dev's do not.
    const names = await toolNames(researchLegacy);
    const addTool = shortenToolName('research-notes__add_tool', 16);
    expect(names).toContain(addTool);
    expect(textOf(await researchLegacy.callTool({ name: addTool, arguments: {} }))).toBe('added');
    await waitUntil(() => heard.researchLegacy > 0 && heard.researchModern > 0, 10_000);
    expect((await toolNames(researchLegacy)).length).toBe(names.length + 1);
    // Time for a wrongly sent notification to arrive.
    await new Promise(resolve => setTimeout(resolve, 1_000));
    expect(heard.devLegacy).toBe(0);
    expect(heard.devModern).toBe(0);
    await Promise.all(listeners.map(listener => listener.close()));
  });

  it('serves a profile over the old HTTP+SSE transport at /sse/<profile>', async () => {
    const headers = bearer(anyToken);
    const client = new Client(
      { name: 'profiles-sse', version: '1.0.0' },
      { versionNegotiation: { mode: 'legacy' } }
    );
    await client.connect(
      new SSEClientTransport(at('/sse/dev'), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers }) }
      })
    );
    clients.push(client);
    const names = await toolNames(client);
    expect(names).toContain('alpha__echo');
    expect(names.some(name => !name.startsWith('alpha__'))).toBe(false);
    expect(textOf(await client.callTool({ name: 'alpha__echo', arguments: { text: 'old transport' } }))).toBe(
      'old transport'
    );
  });
});

describe('mcp-gateway connect --profile', () => {
  it('writes the profile URL, and a token it creates is bound to the profile', async () => {
    const connect = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [
          CLI,
          'connect',
          'cursor',
          ...args,
          '--config',
          `${gateway.dir}/servers.yaml`,
          '--state-dir',
          `${gateway.dir}/data`,
          '--port',
          gateway.url.port
        ],
        { encoding: 'utf8', timeout: 20_000, env: { ...process.env, MCP_GATEWAY_TOKEN: '' } }
      );
    const unknown = connect('--profile', 'nope', '--token', anyToken);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no profile "nope" (its profiles: dev, research)');

    const printed = connect('--profile', 'dev', '--create-token', '--name', 'cursor-dev');
    expect(printed.status, printed.stderr).toBe(0);
    const entry = (
      JSON.parse(printed.stdout) as {
        mcpServers: { gateway: { url: string; headers: Record<string, string> } };
      }
    ).mcpServers.gateway;
    expect(entry.url).toBe(at('/mcp/dev').href);
    const token = entry.headers.Authorization!.slice('Bearer '.length);
    const dev = await connectWith(entry.url, token);
    expect(await toolNames(dev)).toContain('alpha__echo');
    expect((await initializeAt('/mcp', token)).status).toBe(403);
  });
});

describe('an OAuth client on a profile URL', () => {
  const PASSWORD = 'profile-owner-password';
  let oauthGateway: GatewayProcess;
  let publicUrl: string;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'profiles-oauth-'));
    setAdminPassword(stateDir, PASSWORD);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    oauthGateway = await GatewayProcess.start(
      `gateway:\n  publicUrl: ${publicUrl}\n  auth: { mode: oauth }\n${CONFIG.slice(CONFIG.indexOf('profiles:'))}`,
      { stateDir, args: ['--port', String(port)] }
    );
  }, 60_000);

  afterAll(async () => {
    await oauthGateway?.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("finds the profile URL's own metadata, gets a token bound to the profile, and is refused elsewhere", async () => {
    const refused = await fetch(`${publicUrl}/mcp/dev`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(401);
    const metadataUrl = `${publicUrl}/.well-known/oauth-protected-resource/mcp/dev`;
    expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${metadataUrl}"`);
    expect(await (await fetch(metadataUrl)).json()).toMatchObject({
      resource: `${publicUrl}/mcp/dev`,
      authorization_servers: [publicUrl]
    });

    // The SDK client's whole flow, as Claude.ai runs it, against the profile URL.
    const serverUrl = `${publicUrl}/mcp/dev`;
    const oauth = new MemoryOAuthClient();
    await expect(auth(oauth, { serverUrl })).resolves.toBe('REDIRECT');
    const outcome = await new ConsentBrowser(publicUrl).approve(oauth.authorizationUrl!, PASSWORD);
    expect(outcome.html).not.toContain('Wrong');
    const code = outcome.redirect?.searchParams.get('code');
    expect(code).toBeTruthy();
    const iss = outcome.redirect?.searchParams.get('iss') ?? undefined;
    await expect(auth(oauth, { serverUrl, authorizationCode: code!, iss })).resolves.toBe('AUTHORIZED');

    const client = new Client({ name: 'profiles-oauth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: oauth }));
    clients.push(client);
    const names = await toolNames(client);
    expect(names).toContain('alpha__echo');
    expect(names.every(name => name.startsWith('alpha__'))).toBe(true);

    // Elsewhere the token is not one of that resource: 401 invalid_token, with a challenge that
    // sends the client to that URL's own metadata to authorize for it.
    for (const [where, metadata] of [
      ['/mcp/research', '/.well-known/oauth-protected-resource/mcp/research'],
      ['/mcp', '/.well-known/oauth-protected-resource/mcp']
    ] as const) {
      const elsewhere = await fetch(`${publicUrl}${where}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${oauth.saved!.access_token}`, 'content-type': 'application/json' },
        body: '{}'
      });
      expect(elsewhere.status, where).toBe(401);
      const challenge = elsewhere.headers.get('www-authenticate') ?? '';
      expect(challenge).toContain(`resource_metadata="${publicUrl}${metadata}"`);
      expect(challenge).toContain('error="invalid_token"');
      expect(((await elsewhere.json()) as { error: { message: string } }).error.message).toContain(
        'bound to profile dev'
      );
    }
  });
});

describe('profiles across a reload of servers.yaml', () => {
  it("follows an added, changed and removed profile without a restart, telling the changed profile's sessions", async () => {
    const servers = CONFIG.slice(CONFIG.indexOf('\nservers:') + 1);
    const reloading = await GatewayProcess.start(`profiles:\n  dev:\n    servers: [alpha]\n${servers}`, {
      env: { GATEWAY_WATCH_CONFIG: 'false' }
    });
    try {
      const url = (path: string) => new URL(path, reloading.url);
      const dev = new Client(
        { name: 'reload-dev', version: '1.0.0' },
        { versionNegotiation: { mode: 'legacy' } }
      );
      await dev.connect(new StreamableHTTPClientTransport(url('/mcp/dev')));
      clients.push(dev);
      await waitUntil(async () => (await toolNames(dev)).includes('alpha__echo'), 30_000);
      let changed = 0;
      dev.setNotificationHandler('notifications/tools/list_changed', () => void changed++);

      const reload = async (profiles: string) => {
        writeFileSync(path.join(reloading.dir, 'servers.yaml'), `${profiles}${servers}`);
        const response = await fetch(url('/api/reload'), { method: 'POST' });
        return (await response.json()) as { ok: boolean; restartNeeded: string[] };
      };
      expect(
        await reload(
          'profiles:\n  dev:\n    servers: [alpha, research-notes]\n  ops:\n    servers: [research-notes]\n'
        )
      ).toMatchObject({ ok: true, restartNeeded: [] });
      await waitUntil(() => changed > 0);
      await waitUntil(async () => (await toolNames(dev)).includes('research-notes__echo'), 30_000);
      expect(await toolNames(dev)).toContain('alpha__echo');
      expect((await initializeStatus(url('/mcp/ops'))).status).toBe(200);
      // A 2026-era listener of ops: removing the profile lets go of its handler, which ends the stream.
      const ops = new Client(
        { name: 'reload-ops', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } }
      );
      await ops.connect(new StreamableHTTPClientTransport(url('/mcp/ops')));
      clients.push(ops);
      const opsListener = await ops.listen({ toolsListChanged: true });
      let opsHeard = 0;
      ops.setNotificationHandler('notifications/tools/list_changed', () => void opsHeard++);
      let opsEnded: string | undefined;
      void opsListener.closed.then(how => (opsEnded = how));

      expect(await reload('profiles:\n  dev:\n    servers: [alpha]\n')).toMatchObject({ ok: true });
      const gone = await initializeStatus(url('/mcp/ops'));
      expect(gone.status).toBe(404);
      expect(gone.message).toContain('its profiles are dev');
      await waitUntil(() => opsEnded !== undefined, 10_000);
      expect(opsEnded).toBe('graceful');
      expect(opsHeard).toBeGreaterThanOrEqual(1); // told its list changed before the stream ended
    } finally {
      await reloading.dispose();
    }
  });
});

describe('a profile session across a restart', () => {
  it('is rebuilt on its own profile URL only', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'profiles-restore-'));
    const text = `profiles:\n  dev:\n    servers: [alpha]\n${CONFIG.slice(CONFIG.indexOf('\nservers:') + 1)}`;
    let first: GatewayProcess | undefined;
    let second: GatewayProcess | undefined;
    try {
      first = await GatewayProcess.start(text, { stateDir });
      const transport = new StreamableHTTPClientTransport(new URL('/mcp/dev', first.url));
      const client = new Client(
        { name: 'restore-dev', version: '1.0.0' },
        { versionNegotiation: { mode: 'legacy' } }
      );
      await client.connect(transport);
      const id = transport.sessionId!;
      const ping = async (gateway: GatewayProcess, where: string) => {
        const response = await fetch(new URL(where, gateway.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
            'mcp-session-id': id
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 'ping', method: 'ping' })
        });
        await response.text();
        return response.status;
      };
      // Another profile's URL (or the root) does not know the session.
      expect(await ping(first, '/mcp')).toBe(404);
      expect(await ping(first, '/mcp/dev')).toBe(200);
      await first.stop('SIGTERM');
      second = await GatewayProcess.start(text, { stateDir, port: Number(first.url.port) });
      expect(await ping(second, '/mcp')).toBe(404);
      expect(await ping(second, '/mcp/dev')).toBe(200);
      expect(
        textOf(await client.callTool({ name: 'alpha__echo', arguments: { text: 'after restart' } }))
      ).toBe('after restart');
      await client.close();
    } finally {
      await first?.dispose();
      await second?.dispose();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

/** The status and error message of an unauthenticated `initialize` POST to `url`. */
async function initializeStatus(url: URL) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
    })
  });
  const text = await response.text();
  return { status: response.status, message: text };
}

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
