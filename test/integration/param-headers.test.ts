import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortenToolName } from '../../src/catalog/tool-names.js';
import { GatewayProcess, ROOT } from '../support/gateway-process.js';
import { rawModernRequest } from '../support/raw-session.js';

/**
 * SEP-2243 `Mcp-Param-*` headers, checked by the gateway against the tool's `x-mcp-header`
 * parameters (the stdio server behind never sees them): the conformance fixture's
 * `test_custom_headers` mirrors its `region` argument into `Mcp-Param-Region`.
 */
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'conformance-server.mjs');
const CONFIG = `
profiles:
  short:
    servers: [conformance]
    maxToolNameLength: 20
servers:
  conformance:
    namespace: cf
    command: ["${process.execPath}", "${FIXTURE}"]
`;
const TOOL = 'cf__test_custom_headers';

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
});

interface Answer {
  result?: { content: { text: string }[] };
  error?: { code: number; message: string; data?: unknown };
}

async function call(
  headers: Record<string, string>,
  where = gateway.url,
  tool = TOOL
): Promise<{ status: number; body: Answer }> {
  const response = await rawModernRequest(
    where,
    'tools/call',
    { name: tool, arguments: { region: 'eu-west' } },
    { headers }
  );
  const text = await response.text();
  // A success may come as one SSE event; its data is the JSON-RPC answer.
  const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
  return { status: response.status, body: JSON.parse(json) as Answer };
}

describe('Mcp-Param-* headers on 2026-07-28 tools/call', () => {
  it('passes a call whose header matches its argument, plain or Base64', async () => {
    const plain = await call({ 'mcp-param-region': 'eu-west' });
    expect(plain.status).toBe(200);
    expect(plain.body.result?.content[0]?.text).toBe('region eu-west');
    const encoded = await call({
      'mcp-param-region': `=?base64?${Buffer.from('eu-west').toString('base64')}?=`
    });
    expect(encoded.body.result?.content[0]?.text).toBe('region eu-west');
  });

  it('refuses a missing, different or badly encoded header with 400 and -32020, naming the header and tool', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { 'mcp-param-region': 'us-east' },
      { 'mcp-param-region': '=?base64?not base64!?=' }
    ]) {
      const refused = await call(headers);
      expect(refused.status).toBe(400);
      expect(refused.body.error?.code).toBe(-32020);
      expect(refused.body.error?.message).toContain('Mcp-Param-Region');
      expect(refused.body.error?.message).toContain(TOOL);
    }
  });

  it('checks them on a profile, under the name the profile lists the tool by', async () => {
    const where = new URL('/mcp/short', gateway.url);
    const tool = shortenToolName(TOOL, 20);
    expect(tool).not.toBe(TOOL);
    const passed = await call({ 'mcp-param-region': 'eu-west' }, where, tool);
    expect(passed.body.result?.content[0]?.text).toBe('region eu-west');
    const refused = await call({ 'mcp-param-region': 'us-east' }, where, tool);
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe(-32020);
  });
});
