import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  marker,
  processesWith,
  textOf
} from '../support/gateway-process.js';

/**
 * What an attacker sends, one case at a time. Each gets a clear 4xx or JSON-RPC error, never a
 * crash, a leaked process, or memory that does not come back.
 */

const tag = marker();
let gateway: GatewayProcess;
let client: Client;

beforeAll(async () => {
  gateway = await GatewayProcess.start(`
gateway:
  limits: { requestsPerMinute: 1000000, maxSessions: 200, sessionsPerPrincipal: 200, headersTimeout: 1, requestTimeout: 2 }
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}", "${tag}"]
`);
  client = await connect(gateway.url, 'legacy');
});

afterAll(async () => {
  await client?.close();
  const exit = await gateway?.stop();
  expect(exit).toMatchObject({ code: 0 });
  expect(processesWith(tag)).toEqual([]);
  await gateway?.dispose();
});

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

function post(
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(gateway.url, { method: 'POST', headers: { ...HEADERS, ...headers }, body });
}

/** After each attack: the gateway answers and a real call still works. */
async function stillServing(): Promise<void> {
  expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
  expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'alive' } }))).toBe(
    'alive'
  );
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

describe('hostile HTTP bodies', () => {
  it('malformed JSON: 400 -32700', async () => {
    const response = await post('{"jsonrpc":"2.0","method":"tools/list","id":');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32700 } });
    await stillServing();
  });

  it('deeply nested JSON: 400 naming the limit, no crash', async () => {
    const depth = 200_000;
    const response = await post('['.repeat(depth) + ']'.repeat(depth));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('nested deeper than 128 levels');
    const nestedArgs = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'fixture__echo',
        arguments: { text: 'x', deep: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) }
      }
    });
    const deep = await post(nestedArgs);
    expect(deep.status).toBe(400);
    await stillServing();
  });

  it('huge strings and arrays: served within the 4 MiB bound, refused past it', async () => {
    const big = await client.callTool({
      name: 'fixture__echo',
      arguments: { text: 'y'.repeat(3 * 1024 * 1024) }
    });
    expect(textOf(big)).toHaveLength(3 * 1024 * 1024);
    const array = await client.callTool({
      name: 'fixture__echo',
      arguments: { text: 'z', items: Array.from({ length: 200_000 }, (_, i) => i) }
    });
    expect(textOf(array)).toBe('z');
    const over = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 << 20) } })
    );
    expect(over.status).toBe(413);
    await stillServing();
  });

  it('invalid UTF-8: 400', async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]);
    const response = await post(bytes);
    expect(response.status).toBe(400);
    await stillServing();
  });

  it('__proto__ and constructor keys in arguments pollute nothing', async () => {
    const body = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fixture__echo","arguments":{"text":"p","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}}`;
    const sessionId = (client.transport as unknown as { sessionId: string }).sessionId;
    const response = await post(body, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"text":"p"');
    // Were Object.prototype polluted in the gateway, every JSON answer would carry the key.
    const servers = await (await fetch(new URL('/api/servers', gateway.url))).text();
    expect(servers).not.toContain('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await stillServing();
  });

  it('control characters and newlines in tool names and arguments cannot forge log lines', async () => {
    const forged = 'fixture__echo\n{"level":60,"msg":"FORGED ADMIN LOGIN","service":"mcp-gateway"}\r\n';
    await expect(client.callTool({ name: forged, arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await client.callTool({ name: 'fixture__echo', arguments: { text: 'a\nb\u0000c\u001b[31mred' } });
    const lines = gateway.stderrText;
    expect(lines.every(line => line.trim() === '' || (() => JSON.parse(line) as unknown)())).toBeTruthy();
    expect(gateway.logs.some(line => line.msg === 'FORGED ADMIN LOGIN')).toBe(false);
    await stillServing();
  });
});

describe('hostile sessions and headers', () => {
  it('guessed session ids get 404', async () => {
    for (const guess of ['1', '00000000-0000-0000-0000-000000000000', 'a'.repeat(1000), '../../etc/passwd']) {
      const response = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
        'mcp-session-id': guess,
        'mcp-protocol-version': '2025-11-25'
      });
      expect(response.status).toBe(404);
    }
    await stillServing();
  });

  it('a wrong Host, a foreign Origin, and a CORS preflight from another origin: 403, no CORS grant', async () => {
    const origin = await post('{}', { origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    const preflight = await fetch(gateway.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, mcp-session-id'
      }
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const rebinding = await rawRequest(
      `POST /mcp HTTP/1.1\r\nHost: attacker.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`
    );
    expect(rebinding).toMatch(/^HTTP\/1\.1 403/);
    await stillServing();
  });

  it('slow headers and slow bodies are cut off', async () => {
    const began = Date.now();
    const slowHeaders = await rawRequest('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n', 6_000);
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(slowHeaders === '' || /^HTTP\/1\.1 408/.test(slowHeaders)).toBe(true);
    const slowBody = await rawRequest(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"jsonrpc"`,
      8_000
    );
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(slowBody === '' || /^HTTP\/1\.1 (400|408)/.test(slowBody)).toBe(true);
    await stillServing();
  });

  it('a flood of initialize requests is capped and leaves the gateway serving', async () => {
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'flood', version: '1' } }
    });
    const statuses: number[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const responses = await Promise.all(Array.from({ length: 50 }, () => post(init)));
      for (const response of responses) {
        statuses.push(response.status);
        await response.body?.cancel();
      }
    }
    // Idle sessions past the cap evict the least recently used ones: the count stays at the cap.
    expect(statuses.every(status => status === 200 || status === 503)).toBe(true);
    const health = await gateway.health();
    expect(health.sessions).toBe(200);
    await stillServing();
  });

  it('tokens in the query string are refused even with auth off', async () => {
    const response = await post('{}', {}).then(() =>
      fetch(new URL('/mcp?access_token=abc', gateway.url), {
        method: 'POST',
        headers: HEADERS,
        body: '{}'
      })
    );
    expect(response.status).toBe(400);
    await stillServing();
  });
});

describe('the JSON-RPC entry under arbitrary input', () => {
  it('answers any JSON body with a 2xx or 4xx, never a 5xx or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async value => {
        const response = await post(JSON.stringify(value));
        await response.body?.cancel();
        return response.status < 500;
      }),
      { numRuns: 150 }
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          jsonrpc: fc.constantFrom('2.0', '1.0', 2),
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
          method: fc.oneof(
            fc.constantFrom('tools/call', 'tools/list', 'initialize', 'ping', 'server/discover'),
            fc.string()
          ),
          params: fc.jsonValue({ maxDepth: 3 })
        }),
        async message => {
          const response = await post(JSON.stringify(message));
          await response.body?.cancel();
          return response.status < 500;
        }
      ),
      { numRuns: 150 }
    );
    await stillServing();
  });

  it('after 10,000 bad requests, memory is back within a bound', async () => {
    const pid = gateway.child.pid!;
    const bad = [
      '{',
      '[]',
      '{"jsonrpc":"2.0"}',
      'null',
      '"x"',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
    ];
    const send = async (i: number) => {
      const response = await post(
        bad[i % bad.length]!,
        i % 7 === 0 ? { 'mcp-session-id': `guess-${i}` } : {}
      );
      await response.body?.cancel();
    };
    const round = async (offset: number) => {
      for (let batch = 0; batch < 100; batch++) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => send(offset + batch * 50 + j)));
      }
      await new Promise(resolve => setTimeout(resolve, 1_000));
      return rssOf(pid);
    };
    // The heap first grows to its working size (how far depends on what ran before); a leak keeps
    // growing round after round, while a bounded gateway levels off. Rounds of 5,000 until one
    // adds less than 16 MiB: at most 6 rounds, and at least the 10,000 the check is about.
    const readings = [rssOf(pid)];
    for (let index = 0; index < 6; index++) {
      readings.push(await round(index * 5_000));
      const grew = readings[readings.length - 1]! - readings[readings.length - 2]!;
      if (index >= 1 && grew < 16 * 1024 * 1024) break;
    }
    console.log(`RSS by round of 5,000 bad requests (MiB): ${readings.map(r => r >> 20).join(' → ')}`);
    const last = readings[readings.length - 1]! - readings[readings.length - 2]!;
    expect(last).toBeLessThan(16 * 1024 * 1024);
    expect(readings[readings.length - 1]).toBeLessThan(400 * 1024 * 1024);
    await stillServing();
  }, 120_000);
});

/** Sends raw bytes and resolves with whatever comes back before the socket closes or `waitMs` ends. */
function rawRequest(text: string, waitMs = 3_000): Promise<string> {
  return new Promise(resolve => {
    const socket = netConnect(Number(gateway.url.port), '127.0.0.1');
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(text);
  });
}
