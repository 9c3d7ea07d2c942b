import type { IncomingHttpHeaders } from 'node:http';
import { isLegacyRequest } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLegacyPost, isPlainLegacy } from '../../src/http/app.js';

const MODERN = '2026-07-28';
const modernMeta = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' }
};

/** What the SDK itself decides, through the web Request it would need. */
async function sdkDecides(headers: Record<string, string>, body: unknown): Promise<boolean> {
  const request = new Request('http://127.0.0.1/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  });
  return isLegacyRequest(request, body);
}

const toNode = (headers: Record<string, string>): IncomingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));

describe('era routing of a POST', () => {
  const headerSets = fc.record(
    {
      'mcp-protocol-version': fc.constantFrom('2025-11-25', '2025-06-18', MODERN, '2099-01-01', 'junk'),
      'mcp-method': fc.constantFrom('tools/call', 'tools/list', 'initialize'),
      'mcp-name': fc.constantFrom('fixture__echo', 'x')
    },
    { requiredKeys: [] }
  );
  const meta = fc.oneof(
    fc.constant(undefined),
    fc.constant({}),
    fc.constant({ progressToken: 1 }),
    fc.constant(modernMeta),
    fc.constant({ 'io.modelcontextprotocol/protocolVersion': '2025-11-25' }),
    fc.constant({ 'io.modelcontextprotocol/protocolVersion': MODERN })
  );
  const message = fc.oneof(
    fc
      .tuple(fc.constantFrom('initialize', 'tools/call', 'tools/list', 'server/discover', 'ping'), meta)
      .map(([method, m]) => ({ jsonrpc: '2.0', id: 1, method, params: m === undefined ? {} : { _meta: m } })),
    meta.map(m => ({
      jsonrpc: '2.0',
      method: 'notifications/initialized',
      ...(m ? { params: { _meta: m } } : {})
    })),
    fc.constant({ jsonrpc: '2.0', id: 1, result: {} }),
    fc.constant({ not: 'json-rpc' })
  );
  const body = fc.oneof(message, fc.array(message, { minLength: 1, maxLength: 3 }));

  it("decides as the SDK's isLegacyRequest does, without a web Request", async () => {
    await fc.assert(
      fc.asyncProperty(headerSets, body, async (headers, value) => {
        expect(isLegacyPost(toNode(headers), value)).toBe(await sdkDecides(headers, value));
      }),
      { numRuns: 1_000 }
    );
  });

  it('takes the fast path only for requests the SDK calls legacy', async () => {
    let fast = 0;
    await fc.assert(
      fc.asyncProperty(headerSets, body, async (headers, value) => {
        if (!isPlainLegacy(headers['mcp-protocol-version'], value)) return;
        fast++;
        expect(await sdkDecides(headers, value)).toBe(true);
      }),
      { numRuns: 1_000 }
    );
    // The property must reach the fast path often enough to mean something: about 70 of 1,000
    // generated requests take it (48 was seen once, failing a floor of 50), so the floor is 20.
    expect(fast).toBeGreaterThan(20);
  });

  it('sends both eras their own way', () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } };
    expect(isLegacyPost({}, call)).toBe(true);
    expect(isLegacyPost({}, undefined)).toBe(true);
    expect(
      isLegacyPost({ 'mcp-protocol-version': MODERN }, { ...call, params: { name: 'x', _meta: modernMeta } })
    ).toBe(false);
  });
});
