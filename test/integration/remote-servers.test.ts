import http from 'node:http';
import type net from 'node:net';
import type { Client, Progress } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Everything, freePort } from '../support/everything-server.js';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  textOf,
  waitUntil,
  type Era
} from '../support/gateway-process.js';

// url: servers behind the real daemon: server-everything over Streamable HTTP (web) and over
// HTTP+SSE (old), a URL nothing listens on (gone), a server that wants OAuth the gateway has no
// login for (guarded), and a local process (local) that must keep serving beside them.
let web: Everything;
let old: Everything;
let guarded: http.Server;
let gateway: GatewayProcess;
const tag = marker();

beforeAll(async () => {
  [web, old] = await Promise.all([Everything.start('streamableHttp'), Everything.start('sse')]);
  guarded = http.createServer((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer' });
    res.end();
  });
  await new Promise<void>(resolve => guarded.listen(0, '127.0.0.1', resolve));
  gateway = await GatewayProcess.start(`
defaults:
  startTimeout: 5
servers:
  web:
    url: ${web.url.href}
    idleTimeout: 2
  old:
    url: ${old.url.href}
  gone:
    url: http://127.0.0.1:${await freePort()}/mcp
  guarded:
    url: http://127.0.0.1:${(guarded.address() as net.AddressInfo).port}/mcp
    auth: oauth
  local:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
`);
});

afterAll(async () => {
  await gateway?.dispose();
  await Promise.all([web?.kill(), old?.kill()]);
  guarded?.closeAllConnections();
  await new Promise(resolve => guarded?.close(resolve));
});

async function serverStatus(id: string): Promise<Record<string, unknown>> {
  const { servers } = (await (await fetch(new URL('/api/servers', gateway.url))).json()) as {
    servers: Record<string, unknown>[];
  };
  return servers.find(server => server.id === id) ?? {};
}

describe.each(['legacy', 'modern'] as Era[])('a %s-era client', era => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(gateway.url, era);
    return () => client.close();
  });

  it.each(['web', 'old'])('reaches %s for tools, prompts, resources and progress', async id => {
    const { tools } = await client.listTools();
    expect(tools.map(tool => tool.name)).toContain(`${id}__echo`);
    const echoed = await client.callTool({ name: `${id}__echo`, arguments: { message: `to ${id}` } });
    expect(textOf(echoed)).toContain(`to ${id}`);

    const prompt = await client.getPrompt({ name: `${id}__simple-prompt` });
    expect(JSON.stringify(prompt.messages)).toContain('simple prompt');

    const { resources } = await client.listResources();
    const own = resources.find(resource => resource.name && resource.uri.includes(id));
    expect(own, JSON.stringify(resources.map(resource => resource.uri))).toBeDefined();
    const read = await client.readResource({ uri: own!.uri });
    expect(read.contents.length).toBeGreaterThan(0);

    const progress: Progress[] = [];
    const done = await client.callTool(
      { name: `${id}__trigger-long-running-operation`, arguments: { duration: 0.6, steps: 3 } },
      { onprogress: p => progress.push(p) }
    );
    expect(textOf(done)).toContain('completed');
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  it('cancels a call to a remote server, which serves the next one', async () => {
    const abort = new AbortController();
    const began = Date.now();
    const call = client.callTool(
      { name: 'web__trigger-long-running-operation', arguments: { duration: 20, steps: 2 } },
      { signal: abort.signal }
    );
    setTimeout(() => abort.abort('the test cancelled it'), 300);
    await expect(call).rejects.toThrow();
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(textOf(await client.callTool({ name: 'web__echo', arguments: { message: 'next' } }))).toContain(
      'next'
    );
  });

  it('fails calls to an unreachable and to a not-logged-in server clearly, and the others still serve', async () => {
    await expect(client.callTool({ name: 'gone__echo', arguments: {} })).rejects.toThrow(
      /server gone \(http:\/\/127\.0\.0\.1:\d+\/mcp\) is unreachable: connection refused/
    );
    await expect(client.callTool({ name: 'guarded__echo', arguments: {} })).rejects.toThrow(
      /mcp-gateway login guarded/
    );
    expect(textOf(await client.callTool({ name: 'local__echo', arguments: { text: 'still' } }))).toBe(
      'still'
    );
    expect(textOf(await client.callTool({ name: 'web__echo', arguments: { message: 'still' } }))).toContain(
      'still'
    );
  });
});

describe('the remote server', () => {
  it('killed and restarted between calls: the next call reaches it again', async () => {
    const client = await connect(gateway.url, 'legacy');
    try {
      expect(textOf(await client.callTool({ name: 'web__echo', arguments: { message: 'a' } }))).toContain(
        'a'
      );
      await web.kill();
      await waitUntil(async () => (await serverStatus('web')).state !== 'ready', 5_000);
      await web.restart();
      expect(textOf(await client.callTool({ name: 'web__echo', arguments: { message: 'b' } }))).toContain(
        'b'
      );
      // A lost connection is not the server's crash.
      expect(await serverStatus('web')).toMatchObject({ state: 'ready', lastError: null });
    } finally {
      await client.close();
    }
  });

  it('idle: its connection is closed after idleTimeout and opened again by the next call', async () => {
    const client = await connect(gateway.url, 'legacy');
    try {
      await client.callTool({ name: 'web__echo', arguments: { message: 'warm' } });
      expect(await serverStatus('web')).toMatchObject({ state: 'ready' });
      await waitUntil(async () => (await serverStatus('web')).state === 'stopped', 6_000);
      expect(textOf(await client.callTool({ name: 'web__echo', arguments: { message: 'again' } }))).toContain(
        'again'
      );
      expect(await serverStatus('web')).toMatchObject({ state: 'ready' });
    } finally {
      await client.close();
    }
  });
});
