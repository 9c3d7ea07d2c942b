import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError, type Client } from '@modelcontextprotocol/client';
import {
  connect,
  EVERYTHING_SERVER,
  FIXTURE_SERVER,
  GatewayProcess,
  textOf,
  waitUntil,
  type Era
} from '../support/gateway-process.js';

/**
 * Prompts, resources and completions through the real daemon, with the reference server
 * (`server-everything`: prompts, resources, templates, completions) behind it as a local process,
 * and the fixture server (whose prompt and resource lists can change) beside it.
 */
const CONFIG = `
defaults:
  idleTimeout: 60
servers:
  fixture:
    description: The test fixture
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_KINDS: "1"
  everything:
    description: The reference server
    command: ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
    prompts:
      deny: ["resource-prompt"]
`;

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
});

/** The error `promise` rejects with (failing the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

const TEMPLATE = 'demo://everything+resource/dynamic/text/{resourceId}';

describe.each<Era>(['legacy', 'modern'])('prompts, resources and completions in the %s era', era => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(gateway.url, era);
  });

  afterAll(async () => {
    await client?.close();
  });

  it("advertises the servers' kinds and carries their instructions", () => {
    expect(client.getServerCapabilities()).toMatchObject({
      prompts: { listChanged: true },
      resources: { listChanged: true },
      completions: {}
    });
    const lines = (client.getInstructions() ?? '').split('\n');
    const entry = lines.indexOf('- everything: The reference server');
    expect(entry).toBeGreaterThan(-1);
    expect(lines[entry + 1]).toBe('    # Everything Server – Server Instructions');
  });

  it('lists prompts namespaced and filtered, and gets one', async () => {
    const { prompts } = await client.listPrompts();
    const names = prompts.map(prompt => prompt.name);
    expect(names).toEqual(expect.arrayContaining(['everything__args-prompt', 'fixture__hello']));
    expect(names).not.toContain('everything__resource-prompt');
    const args = prompts.find(prompt => prompt.name === 'everything__args-prompt')!;
    expect(args.description).toMatch(/^\[everything\] /);
    const got = await client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Paris' } });
    expect(got.messages[0]!.content).toEqual({ type: 'text', text: "What's weather in Paris?" });
  });

  it('lists resources and templates with rewritten URIs, and reads them back', async () => {
    const { resources } = await client.listResources();
    const hello = resources.find(resource => resource.uri === 'fixture://fixture+static/hello');
    expect(hello?.description).toBe('[fixture] A greeting');
    const read = await client.readResource({ uri: 'fixture://fixture+static/hello' });
    expect(read.contents).toEqual([{ uri: 'fixture://fixture+static/hello', text: 'hello' }]);

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map(template => template.uriTemplate)).toContain(TEMPLATE);
    const uri = TEMPLATE.replace('{resourceId}', '3');
    const expanded = await client.readResource({ uri });
    expect(expanded.contents[0]!.uri).toBe(uri);
    expect(expanded.contents[0]).toMatchObject({
      mimeType: 'text/plain',
      text: expect.stringContaining('3')
    });
  });

  it('routes completions by prompt name and by template URI', async () => {
    const byPrompt = await client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'department', value: 'E' }
    });
    expect(byPrompt.completion.values).toEqual(['Engineering']);
    const byTemplate = await client.complete({
      ref: { type: 'ref/resource', uri: TEMPLATE },
      argument: { name: 'resourceId', value: '1' }
    });
    expect(byTemplate.completion.values.length).toBeGreaterThan(0);
    expect(byTemplate.completion.values.every(value => value.startsWith('1'))).toBe(true);
  });

  it('answers bad names and URIs with clear JSON-RPC errors and goes on serving', async () => {
    const prompt = await failure(client.getPrompt({ name: 'nobody__hello' }));
    expect(prompt.code).toBe(-32602);
    expect(prompt.message).toContain('Unknown prompt: nobody__hello');
    const missingPrompt = await failure(client.getPrompt({ name: 'everything__no-such-prompt' }));
    expect(missingPrompt.code).toBe(-32602);

    const undecodable = await failure(client.readResource({ uri: 'file:///etc/passwd' }));
    expect(undecodable.code).toBe(-32602);
    expect(undecodable.data).toMatchObject({ uri: 'file:///etc/passwd', reason: 'unknown_resource' });
    expect(undecodable.message).toContain('names no server');
    const unknown = await failure(client.readResource({ uri: 'fixture://fixture+static/none' }));
    expect(unknown.data).toMatchObject({ uri: 'fixture://fixture+static/none' });

    const ref = await failure(
      client.complete({ ref: { type: 'ref/prompt', name: 'nobody__x' }, argument: { name: 'a', value: '' } })
    );
    expect(ref.code).toBe(-32602);

    expect(textOf(await client.callTool({ name: 'fixture__echo', arguments: { text: 'still here' } }))).toBe(
      'still here'
    );
    expect((await client.getPrompt({ name: 'fixture__hello' })).messages).toHaveLength(1);
  });
});

describe('prompt and resource list changes', () => {
  it('reach 2025-era sessions as list_changed and 2026-era listen streams that asked', async () => {
    const legacy = await connect(gateway.url, 'legacy');
    const modern = await connect(gateway.url, 'modern');
    const heard = { legacyPrompts: 0, legacyResources: 0, modernPrompts: 0, modernResources: 0 };
    legacy.setNotificationHandler('notifications/prompts/list_changed', () => void heard.legacyPrompts++);
    legacy.setNotificationHandler('notifications/resources/list_changed', () => void heard.legacyResources++);
    modern.setNotificationHandler('notifications/prompts/list_changed', () => void heard.modernPrompts++);
    modern.setNotificationHandler('notifications/resources/list_changed', () => void heard.modernResources++);
    const subscription = await modern.listen({ promptsListChanged: true, resourcesListChanged: true });
    expect(subscription.honoredFilter).toMatchObject({
      promptsListChanged: true,
      resourcesListChanged: true
    });

    await legacy.callTool({ name: 'fixture__add_kinds', arguments: {} });
    await waitUntil(() => Object.values(heard).every(count => count > 0), 10_000);

    expect((await modern.listPrompts()).prompts.map(prompt => prompt.name)).toContain('fixture__extra');
    const { contents } = await legacy.readResource({ uri: 'fixture://fixture+static/extra' });
    expect(contents).toEqual([{ uri: 'fixture://fixture+static/extra', text: 'extra' }]);
    await subscription.close();
    await legacy.close();
    await modern.close();
  });
});

describe('a server whose resources/templates/list fails', () => {
  it('keeps its tools, prompts and resources, and the warning names the server and the kind', async () => {
    const partial = await GatewayProcess.start(`
servers:
  partial:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_NO_TEMPLATES: "1"
`);
    try {
      await partial.discovered();
      const client = await connect(partial.url, 'legacy');
      try {
        expect((await client.listTools()).tools.map(tool => tool.name)).toContain('partial__echo');
        expect((await client.listPrompts()).prompts.map(prompt => prompt.name)).toContain('partial__hello');
        expect((await client.listResources()).resources).toHaveLength(1);
        expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
      } finally {
        await client.close();
      }
      expect(
        partial.logs.some(
          line =>
            line.level === 40 &&
            line.server === 'partial' &&
            line.kind === 'resourceTemplates' &&
            String(line.msg).includes('listing resourceTemplates failed')
        )
      ).toBe(true);
    } finally {
      await partial.dispose();
    }
  });
});
