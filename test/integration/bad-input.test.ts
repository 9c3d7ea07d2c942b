import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  textOf,
  waitUntil
} from '../support/gateway-process.js';

const tag = marker();
const silentTag = marker();
let gateway: GatewayProcess;
let client: Client;

beforeAll(async () => {
  gateway = await GatewayProcess.start(`
defaults:
  startTimeout: 2
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
  noisy:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
    env: { FIXTURE_BANNER: "1" }
  silent:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${silentTag}"]
    env: { FIXTURE_SILENT: "1" }
`);
  client = await connect(gateway.url, 'legacy');
});

afterAll(async () => {
  await client?.close();
  await gateway?.dispose();
});

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
};
const BOTH = 'application/json, text/event-stream';

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: BOTH, ...headers },
    body
  });
}

/** After each refusal the gateway must still serve: health answers and a real call works. */
async function stillServing(): Promise<void> {
  expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
  const result = await client.callTool({ name: 'fixture__echo', arguments: { text: 'alive' } });
  expect(textOf(result)).toBe('alive');
}

describe('bad HTTP input gets a clear error and the gateway keeps serving', () => {
  it('malformed JSON: 400 with -32700', async () => {
    const response = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32700 } });
    await stillServing();
  });

  it('wrong content type: 415', async () => {
    const response = await post(JSON.stringify(INIT), { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({
      error: { message: expect.stringContaining('Content-Type') }
    });
    await stillServing();
  });

  it('missing Accept: 406', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(INIT)
    });
    expect(response.status).toBe(406);
    await stillServing();
  });

  it('oversized body: 413', async () => {
    const huge = JSON.stringify({
      ...INIT,
      params: { ...INIT.params, padding: 'x'.repeat(5 * 1024 * 1024) }
    });
    const response = await post(huge);
    expect(response.status).toBe(413);
    await stillServing();
  });

  it('unknown session id: 404; missing session id on a non-initialize request: 400', async () => {
    const unknown = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
      'mcp-session-id': '00000000-0000-0000-0000-000000000000',
      'mcp-protocol-version': '2025-11-25'
    });
    expect(unknown.status).toBe(404);
    const missing = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      error: { message: expect.stringContaining('Mcp-Session-Id') }
    });
    await stillServing();
  });

  it('a DELETEd session is gone: its id gets 404, and GET on a live one opens an SSE stream', async () => {
    const opened = await post(JSON.stringify(INIT));
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    await opened.body?.cancel();
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };

    const controller = new AbortController();
    const stream = await fetch(gateway.url, {
      method: 'GET',
      headers: { ...headers, accept: 'text/event-stream' },
      signal: controller.signal
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();

    const deleted = await fetch(gateway.url, { method: 'DELETE', headers });
    expect(deleted.status).toBe(200);
    const after = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }), headers);
    expect(after.status).toBe(404);
    await stillServing();
  });

  it('wrong Host or Origin: 403 (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        gateway.url,
        {
          method: 'POST',
          headers: { host: 'evil.example', 'content-type': 'application/json', accept: BOTH }
        },
        res => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }
      );
      req.on('error', reject);
      req.end(JSON.stringify(INIT));
    });
    expect(status).toBe(403);
    const origin = await post(JSON.stringify(INIT), { origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    await stillServing();
  });
});

describe('bad calls and bad upstreams', () => {
  it('an unknown tool is -32602 naming it', async () => {
    await expect(client.callTool({ name: 'fixture__no_such_tool', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('fixture__no_such_tool')
    });
    await stillServing();
  });

  it('arguments that are not an object are refused with -32602', async () => {
    const opened = await post(JSON.stringify(INIT));
    const sessionId = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const initialized = await post(
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      headers
    );
    expect(initialized.status).toBe(202);
    const response = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'fixture__echo', arguments: ['not', 'an', 'object'] }
      }),
      headers
    );
    const text = await response.text();
    expect(text).toContain('"code":-32602');
    expect(text).not.toContain('"result"');
    await stillServing();
  });

  it('an upstream that prints non-JSON lines on stdout: lines are logged and skipped, calls work', async () => {
    const result = await client.callTool({ name: 'noisy__noisy', arguments: {} });
    expect(textOf(result)).toBe('still here');
    const echo = await client.callTool({ name: 'noisy__echo', arguments: { text: 'after noise' } });
    expect(textOf(echo)).toBe('after noise');
    const skipped = await gateway.waitForLog(
      line => line.msg === 'skipped a line on stdout that is not JSON-RPC' && line.server === 'noisy'
    );
    expect(String(skipped.line)).toMatch(/not JSON|junk line/);
    await stillServing();
  });

  it('an upstream that never answers initialize fails the call after the start bound, clearly', async () => {
    const began = Date.now();
    await expect(client.callTool({ name: 'silent__anything', arguments: {} })).rejects.toMatchObject({
      message: expect.stringContaining('server silent did not complete the MCP handshake within 2s')
    });
    expect(Date.now() - began).toBeLessThan(8_000);
    await waitUntil(() => processesWith(silentTag).length === 0, 5_000); // the failed start leaves nothing
    await stillServing();
  });
});
