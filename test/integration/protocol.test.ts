import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  connect,
  EVERYTHING_SERVER,
  FIXTURE_SERVER,
  GatewayProcess,
  textOf,
  waitUntil,
  type Era
} from '../support/gateway-process.js';
import { RAW_HEADERS, rawInitialize } from '../support/raw-session.js';

const CONFIG = `
defaults:
  idleTimeout: 60
servers:
  fixture:
    description: The test fixture
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
  everything:
    description: The reference server
    command: ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
`;

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
});

describe.each<Era>(['legacy', 'modern'])('the %s era', era => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(gateway.url, era);
  });

  afterAll(async () => {
    await client?.close();
  });

  it('negotiates the expected protocol and describes the servers', () => {
    expect(client.getProtocolEra()).toBe(era);
    expect(client.getNegotiatedProtocolVersion()).toBe(era === 'legacy' ? '2025-11-25' : '2026-07-28');
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp-gateway', version: '0.1.0' });
    expect(client.getServerCapabilities()?.tools).toMatchObject({ listChanged: true });
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toContain('- fixture: The test fixture');
    expect(instructions).toContain('- everything: The reference server');
  });

  it('lists every server’s tools namespaced, with upstream fields passed through', async () => {
    const { tools } = await client.listTools();
    const names = tools.map(tool => tool.name);
    expect(names).toContain('fixture__echo');
    expect(names).toContain('everything__echo');
    const echo = tools.find(tool => tool.name === 'fixture__echo')!;
    expect(echo.description).toBe('[fixture] Returns its text');
    expect(echo.annotations).toMatchObject({ readOnlyHint: true });
    expect(echo.outputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
    expect(echo.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
    expect(names.every(name => /^[A-Za-z0-9_-]{1,64}$/.test(name))).toBe(true);
  });

  it('routes calls and returns the upstream result unchanged', async () => {
    const echo = await client.callTool({ name: 'fixture__echo', arguments: { text: `hello ${era}` } });
    expect(echo.content).toEqual([{ type: 'text', text: `hello ${era}` }]);
    expect(echo.structuredContent).toEqual({ text: `hello ${era}` });
    expect(echo._meta).toMatchObject({ fixture: true });
    expect(echo.isError).toBeFalsy();

    const failed = await client.callTool({ name: 'fixture__fail', arguments: {} });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toBe('this tool always fails');

    const everything = await client.callTool({
      name: 'everything__echo',
      arguments: { message: 'third party' }
    });
    expect(textOf(everything)).toBe('Echo: third party');
  });

  it('forwards upstream progress to the calling client', async () => {
    const seen: { progress: number; total?: number; message?: string }[] = [];
    const result = await client.callTool(
      { name: 'fixture__progress', arguments: { steps: 3 } },
      { onprogress: progress => seen.push(progress) }
    );
    expect(textOf(result)).toBe('done 3');
    expect(seen.map(p => p.progress)).toEqual([1, 2, 3]);
    expect(seen[2]).toMatchObject({ total: 3, message: 'step 3' });
  });

  it('forwards the last progress notification even when the server writes it with the result', async () => {
    // `progress_burst` writes its progress and its result in one stdout write: they reach the
    // gateway in one read, where the progress used to be lost.
    for (let call = 0; call < 20; call++) {
      const seen: number[] = [];
      const result = await client.callTool(
        { name: 'fixture__progress_burst', arguments: { steps: 3 } },
        { onprogress: progress => seen.push(progress.progress) }
      );
      expect(textOf(result)).toBe('done 3');
      expect({ call, seen }).toEqual({ call, seen: [1, 2, 3] });
    }
  });

  it('names the gateway, never the server behind it, in forwarded prompts and resources', async () => {
    const serverInfo = (result: { _meta?: Record<string, unknown> }) =>
      result._meta?.['io.modelcontextprotocol/serverInfo'] as { name: string } | undefined;
    const prompt = await client.getPrompt({ name: 'fixture__hello' });
    const resource = await client.readResource({ uri: 'fixture://fixture+static/hello' });
    expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: 'hello' });
    expect(resource.contents).toEqual([expect.objectContaining({ text: 'hello' })]);
    for (const result of [prompt, resource]) {
      // A 2025-era result names no server; a 2026-era one names the gateway, as its tool results do.
      if (era === 'legacy') expect(serverInfo(result)).toBeUndefined();
      else expect(serverInfo(result)?.name).toBe('mcp-gateway');
    }
  });

  it('answers an unknown tool with -32602 naming it', async () => {
    await expect(client.callTool({ name: 'nope__missing', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('nope__missing')
    });
  });
});

describe('tool list changes', () => {
  it('reach 2025-era sessions as list_changed and 2026-era listen streams', async () => {
    const legacy = await connect(gateway.url, 'legacy');
    const modern = await connect(gateway.url, 'modern');
    let legacyNotified = 0;
    let modernNotified = 0;
    legacy.setNotificationHandler('notifications/tools/list_changed', () => void legacyNotified++);
    modern.setNotificationHandler('notifications/tools/list_changed', () => void modernNotified++);
    const subscription = await modern.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });

    await legacy.callTool({ name: 'fixture__add_tool', arguments: {} });
    await waitUntil(() => legacyNotified > 0 && modernNotified > 0, 10_000);

    const { tools } = await modern.listTools();
    expect(tools.map(tool => tool.name)).toContain('fixture__extra');
    const extra = await legacy.callTool({ name: 'fixture__extra', arguments: {} });
    expect(textOf(extra)).toBe('extra');
    await subscription.close();
    await legacy.close();
    await modern.close();
  });
});

describe('request ids in a 2025-era session', () => {
  it('refuses a request whose id is in use by one still running, and takes the id again after', async () => {
    const init = await rawInitialize(gateway.url, 'same-ids');
    const session = { ...RAW_HEADERS, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const post = (body: unknown) =>
      fetch(gateway.url, { method: 'POST', headers: session, body: JSON.stringify(body) });
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    const slow = (id: number, ms: number) =>
      post({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'fixture__slow', arguments: { ms } }
      });
    const resultsOf = async (response: Response) =>
      (await response.text())
        .split('\n')
        .filter(line => line.startsWith('data: {'))
        .map(line => JSON.parse(line.slice(6)) as { id: number; result?: unknown });

    const first = await slow(9, 1_500);
    const firstResults = resultsOf(first);
    const second = await slow(9, 10);
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: expect.stringContaining('request id 9 is in use') }
    });
    // The first call keeps its stream and gets its own answer.
    expect(await firstResults).toEqual([
      { jsonrpc: '2.0', id: 9, result: expect.objectContaining({ content: expect.any(Array) }) }
    ]);
    // Its id is free again once it has been answered.
    const third = await slow(9, 10);
    expect(third.status).toBe(200);
    expect(await resultsOf(third)).toEqual([expect.objectContaining({ id: 9, result: expect.any(Object) })]);
  });
});
