import { afterEach, describe, expect, it } from 'vitest';
import type { OAuthClientProvider } from '@modelcontextprotocol/client';
import { connectorFor } from '../../src/connectors/connector-for.js';
import { RemoteConnector } from '../../src/connectors/remote-connector.js';
import { StdioConnector } from '../../src/connectors/stdio-connector.js';
import type { DockerSpec, RemoteSpec } from '../../src/config/server-spec.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { FakeRuntime, fakeSpec, silentLog } from '../support/fake-runtime.js';

const { kind: _kind, command: _command, env: _env, cwd: _cwd, ...common } = fakeSpec('docs');
const remote: RemoteSpec = {
  ...common,
  kind: 'remote',
  remote: {
    url: new URL('https://mcp.example.com/mcp'),
    transport: 'auto',
    headers: {},
    ca: undefined,
    oauth: undefined
  }
};

const unusedDocker: Runtime<DockerSpec> = {
  kind: 'docker',
  start: () => Promise.reject(new Error('not used'))
};

const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closing.length > 0) await closing.pop()!();
});

describe('connectorFor', () => {
  it('gives a process server the stdio connector over the process runtime', async () => {
    const runtime = new FakeRuntime();
    const spec = fakeSpec('alpha');
    const connector = connectorFor(spec, {
      docker: unusedDocker,
      process: runtime,
      log: silentLog,
      startTimeoutMs: 1_000,
      oauthProvider: () => {
        throw new Error('not used');
      }
    });
    expect(connector).toBeInstanceOf(StdioConnector);
    const link = await connector.open(new AbortController().signal);
    closing.push(() => link.close());
    expect(runtime.started).toEqual([spec]);
    expect(link.label).toBe('fake alpha #1');
  });

  it('gives a remote server the remote connector, with its OAuth provider when it has auth: oauth', () => {
    const asked: string[] = [];
    const provider = {} as OAuthClientProvider;
    const parts = {
      docker: unusedDocker,
      process: new FakeRuntime(),
      log: silentLog,
      startTimeoutMs: 1_000,
      oauthProvider: (serverId: string) => {
        asked.push(serverId);
        return provider;
      }
    };
    expect(connectorFor(remote, parts)).toBeInstanceOf(RemoteConnector);
    expect(asked).toEqual([]);
    const withOAuth = withCredentials('shared');
    expect(connectorFor(withOAuth, parts)).toBeInstanceOf(RemoteConnector);
    expect(asked).toEqual(['docs']);
  });

  it('never opens a remote server with per-user credentials without a principal: it fails, naming the setting', async () => {
    const connector = connectorFor(withCredentials('per-user'), {
      docker: unusedDocker,
      process: new FakeRuntime(),
      log: silentLog,
      startTimeoutMs: 1_000,
      oauthProvider: () => {
        throw new Error('a per-user server must not get the shared provider');
      }
    });
    const refused = {
      code: 'login_required',
      serverId: 'docs',
      message: expect.stringContaining('server docs has credentials: per-user')
    };
    await expect(connector.open(new AbortController().signal)).rejects.toMatchObject(refused);
    // Through an upstream (the server's own, which the catalog gives requests without a principal).
    const upstream = new Upstream({
      spec: withCredentials('per-user'),
      connector,
      identity: { name: 'test', version: '0' },
      log: silentLog,
      startTimeoutMs: 1_000
    });
    closing.push(() => upstream.close());
    await expect(upstream.callTool('search', {})).rejects.toMatchObject(refused);
  });

  it("opens a per-user server for a principal with that principal's provider only", () => {
    const asked: [string, string | undefined][] = [];
    const parts = {
      docker: unusedDocker,
      process: new FakeRuntime(),
      log: silentLog,
      startTimeoutMs: 1_000,
      oauthProvider: (serverId: string, principal?: string) => {
        asked.push([serverId, principal]);
        return {} as OAuthClientProvider;
      }
    };
    expect(connectorFor(withCredentials('per-user'), parts, 'token:alice')).toBeInstanceOf(RemoteConnector);
    // A shared server ignores the principal: its provider is the gateway's.
    expect(connectorFor(withCredentials('shared'), parts, 'token:alice')).toBeInstanceOf(RemoteConnector);
    expect(asked).toEqual([
      ['docs', 'token:alice'],
      ['docs', undefined]
    ]);
  });
});

function withCredentials(credentials: 'shared' | 'per-user'): RemoteSpec {
  return {
    ...remote,
    remote: {
      ...remote.remote,
      oauth: { clientId: undefined, clientSecret: undefined, scope: undefined, credentials }
    }
  };
}
