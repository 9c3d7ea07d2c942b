import { afterEach, describe, expect, it } from 'vitest';
import { connectorFor } from '../../src/connectors/connector-for.js';
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
      startTimeoutMs: 1_000
    });
    expect(connector).toBeInstanceOf(StdioConnector);
    const link = await connector.open(new AbortController().signal);
    closing.push(() => link.close());
    expect(runtime.started).toEqual([spec]);
    expect(link.label).toBe('fake alpha #1');
  });

  it('gives a remote server a connector that fails its opens, naming the server, until remote lands', async () => {
    const connector = connectorFor(remote, {
      docker: unusedDocker,
      process: new FakeRuntime(),
      log: silentLog,
      startTimeoutMs: 1_000
    });
    await expect(connector.open(new AbortController().signal)).rejects.toMatchObject({
      code: 'start_failed',
      serverId: 'docs',
      message: 'server docs: remote servers are not supported by this build yet'
    });
    // Through an upstream, the call fails with that error and the server reports it.
    const upstream = new Upstream({
      spec: remote,
      connector,
      identity: { name: 'test', version: '0' },
      log: silentLog,
      startTimeoutMs: 1_000
    });
    closing.push(() => upstream.close());
    await expect(upstream.callTool('search', {})).rejects.toMatchObject({
      code: 'start_failed',
      serverId: 'docs'
    });
    expect(upstream.status()).toMatchObject({
      runtime: 'remote',
      lastError: 'server docs: remote servers are not supported by this build yet'
    });
  });
});
