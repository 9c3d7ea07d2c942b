import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_SERVER, GatewayProcess, waitUntil } from '../support/gateway-process.js';
import { rawModernRequest } from '../support/raw-session.js';

const CONFIG = `
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
});

async function api<T>(route: string): Promise<T> {
  return (await (await fetch(new URL(route, gateway.url))).json()) as T;
}

interface Refusal {
  error: { code: number; message: string };
}

describe('2026-07-28 standard headers', () => {
  it('refuses a request whose Mcp-Method header disagrees with its body, or is missing, with 400 and -32020', async () => {
    const mismatch = await rawModernRequest(
      gateway.url,
      'tools/list',
      {},
      {
        headers: { 'mcp-method': 'prompts/list' }
      }
    );
    expect(mismatch.status).toBe(400);
    const body = (await mismatch.json()) as Refusal;
    expect(body.error.code).toBe(-32020);
    expect(body.error.message).toContain('tools/list');
    expect(body.error.message).toContain('prompts/list');

    const missing = await rawModernRequest(
      gateway.url,
      'tools/list',
      {},
      {
        headers: { 'mcp-method': undefined }
      }
    );
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as Refusal).error).toMatchObject({
      code: -32020,
      message: expect.stringContaining('Mcp-Method header is absent')
    });
  });

  it('refuses a tools/call whose Mcp-Name header names another tool, and runs nothing', async () => {
    const call = { name: 'fixture__pid', arguments: {} };
    const wrong = await rawModernRequest(gateway.url, 'tools/call', call, {
      headers: { 'mcp-name': 'fixture__echo' }
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as Refusal).error).toMatchObject({
      code: -32020,
      message: expect.stringContaining('fixture__echo')
    });
    const absent = await rawModernRequest(gateway.url, 'tools/call', call, {
      headers: { 'mcp-name': undefined }
    });
    expect(absent.status).toBe(400);
    const { servers } = await api<{ servers: { id: string; state: string }[] }>('/api/servers');
    expect(servers).toContainEqual(expect.objectContaining({ id: 'fixture', state: 'stopped' }));
  });

  it('records a 2026-era client only for requests it served, not for ones refused for their headers', async () => {
    const refused = await rawModernRequest(
      gateway.url,
      'tools/list',
      {},
      {
        clientName: 'refused-client',
        headers: { 'mcp-method': 'tools/call' }
      }
    );
    expect(refused.status).toBe(400);
    const served = await rawModernRequest(gateway.url, 'tools/list', {}, { clientName: 'served-client' });
    expect(served.status).toBe(200);
    await served.text();

    type Clients = { clients: { clientName: string; requests: number }[] };
    // The history is written in batches, in order: once the later request is there, so is the earlier.
    await waitUntil(async () => (await api<Clients>('/api/sessions')).clients.length > 0, 10_000);
    const { clients } = await api<Clients>('/api/sessions');
    expect(clients.map(client => client.clientName)).toEqual(['served-client']);
    expect(clients[0]!.requests).toBe(1);
  });
});
