import { afterEach, describe, expect, it } from 'vitest';
import { fixtureConfig } from '../support/fixture-config.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { RAW_HEADERS, rawInitialize } from '../support/raw-session.js';

/** 2025-era SSE streams on /mcp carry event ids and `retry:`, and resume with `Last-Event-ID`. */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function session(gateway: GatewayProcess): Promise<string> {
  const response = await rawInitialize(gateway.url, 'resuming');
  expect(response.status).toBe(200);
  const id = response.headers.get('mcp-session-id')!;
  const initialized = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...RAW_HEADERS, 'mcp-session-id': id },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  });
  expect(initialized.status).toBe(202);
  return id;
}

function resume(gateway: GatewayProcess, id: string, lastEventId: string): Promise<Response> {
  return fetch(gateway.url, {
    headers: {
      accept: 'text/event-stream',
      'mcp-session-id': id,
      'mcp-protocol-version': '2025-11-25',
      'last-event-id': lastEventId
    }
  });
}

describe('SSE resumability of 2025-era sessions', () => {
  it.each([
    ['after the call ended: the result is replayed', 2_500],
    ['while the call runs: the result follows on the resumed stream', 300]
  ])('resumes a cut stream %s', async (_when, resumeAfterMs) => {
    const gateway = await GatewayProcess.start(fixtureConfig());
    cleanups.push(() => gateway.dispose());
    const id = await session(gateway);

    const cut = new AbortController();
    const call = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...RAW_HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'fixture__slow', arguments: { ms: 1500 } }
      }),
      signal: cut.signal
    });
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    const reader = call.body!.getReader();
    let primed = '';
    while (!primed.includes('\n\n')) primed += new TextDecoder().decode((await reader.read()).value);
    // The priming event: an id to resume from, and how long to wait before resuming.
    const priming = /^id: (\S+)\nretry: (\d+)\n/.exec(primed);
    expect(priming, primed).not.toBeNull();
    expect(Number(priming![2])).toBeGreaterThan(0);
    cut.abort();

    // Either way the resumed stream carries the result, then ends.
    await new Promise(resolve => setTimeout(resolve, resumeAfterMs));
    const resumed = await resume(gateway, id, priming![1]!);
    expect(resumed.status).toBe(200);
    const text = await resumed.text();
    const event = /id: (\S+)\n(?:event: message\n)?data: (\{.*\})\n/.exec(text);
    expect(event, text).not.toBeNull();
    expect(JSON.parse(event![2]!)).toMatchObject({
      id: 7,
      result: { content: [{ type: 'text', text: 'slept 1500' }] }
    });

    // An id the store does not hold gets the SDK's own refusal.
    const unknown = await resume(gateway, id, `${priming![1]!.split('/')[0]}/999999`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('Invalid event ID');
  });
});
