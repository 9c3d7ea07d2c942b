import { DatabaseSync } from 'node:sqlite';
import {
  Client,
  InMemoryTransport,
  ProtocolError,
  ProtocolErrorCode,
  type Progress,
  type RequestOptions
} from '@modelcontextprotocol/client';
import {
  completable,
  McpServer,
  ResourceTemplate,
  type Server,
  type ServerContext
} from '@modelcontextprotocol/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/v4';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import { CallRunner } from '../../src/sessions/call-runner.js';
import { createGatewayServer, describeServers } from '../../src/sessions/gateway-server.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { FakeRuntime, fakeSpec, silentLog, type FakeProcess, fakeUpstream } from '../support/fake-runtime.js';
import { memoryDatabase } from '../support/memory-database.js';

/** Two servers: `alpha` under its namespace, `beta` with none. */
const SPECS: ProcessSpec[] = [
  fakeSpec('alpha', { description: 'Alpha' }),
  fakeSpec('beta', { namespace: '' })
];

/** What every fake server offers besides its tools: a prompt, a resource, a template, completions. */
function registerKinds(server: McpServer, process: FakeProcess): void {
  const id = process.spec.id;
  server.registerPrompt(
    'greet',
    {
      description: 'Greets someone',
      argsSchema: z.object({
        who: completable(z.string(), value => ['ada', 'alan'].filter(v => v.startsWith(value)))
      })
    },
    ({ who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `hello ${who} from ${id}` } }]
    })
  );
  server.registerResource('readme', 'test://docs/readme', { description: 'The readme' }, uri => ({
    contents: [{ uri: uri.href, text: `readme of ${id}` }]
  }));
  server.registerResource(
    'item',
    new ResourceTemplate('test://items/{id}', {
      list: undefined,
      complete: { id: value => ['1', '12', '2'].filter(v => v.startsWith(value)) }
    }),
    { description: 'An item' },
    (uri, { id: item }) => ({ contents: [{ uri: uri.href, text: `item ${String(item)} of ${id}` }] })
  );
}

let db: DatabaseSync;
let runtime: FakeRuntime;
let upstreams: Upstream[];
let catalog: Catalog;
let server: Server;
let client: Client;
let runner: CallRunner;

async function connect(): Promise<void> {
  upstreams = SPECS.map(spec => fakeUpstream(spec, runtime));
  catalog = new Catalog({ upstreams, store: new CatalogStore(db), log: silentLog });
  await catalog.start();
  await catalog.settled();
  runner = new CallRunner({ catalog, observe: () => undefined, maxResultBytes: 1_000_000 });
  server = createGatewayServer({
    catalog,
    runner,
    name: 'mcp-gateway',
    version: '9.9.9',
    instructions: () => describeServers(SPECS, catalog.instructions()),
    listWaitMs: 1_000,
    pageSize: 50
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientSide);
}

beforeEach(() => {
  db = memoryDatabase();
  runtime = new FakeRuntime();
  runtime.customize = registerKinds;
});

afterEach(async () => {
  await client?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  await Promise.all((upstreams ?? []).map(u => u.close()));
  await runtime.stopAll();
  db.close();
});

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

describe('gateway server: prompts, resources, completions', () => {
  it('advertises what the servers offer, with listChanged', async () => {
    await connect();
    expect(client.getServerCapabilities()).toMatchObject({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true },
      completions: {}
    });
  });

  it('lists prompts named like tools and gets one from its server', async () => {
    await connect();
    const { prompts } = await client.listPrompts();
    expect(prompts.map(p => [p.name, p.description])).toEqual([
      ['alpha__greet', '[alpha] Greets someone'],
      ['greet', '[beta] Greets someone']
    ]);
    const got = await client.getPrompt({ name: 'alpha__greet', arguments: { who: 'ada' } });
    expect(got.messages[0]!.content).toEqual({ type: 'text', text: 'hello ada from alpha' });
    const plain = await client.getPrompt({ name: 'greet', arguments: { who: 'alan' } });
    expect(plain.messages[0]!.content).toEqual({ type: 'text', text: 'hello alan from beta' });
  });

  it('answers an unknown prompt with -32602 naming it, and goes on serving', async () => {
    await connect();
    const error = await failure(client.getPrompt({ name: 'alpha__nope' }));
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(error.message).toContain('nope');
    const unrouted = await failure(client.getPrompt({ name: 'nobody__greet' }));
    expect(unrouted.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(unrouted.message).toContain('Unknown prompt: nobody__greet');
    expect((await client.getPrompt({ name: 'greet', arguments: { who: 'x' } })).messages).toHaveLength(1);
  });

  it('lists resources and templates with rewritten URIs and reads them back by decoding', async () => {
    await connect();
    const { resources } = await client.listResources();
    expect(resources.map(r => [r.uri, r.description])).toEqual([
      ['test://alpha+docs/readme', '[alpha] The readme'],
      ['test://docs/readme', '[beta] The readme']
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map(t => t.uriTemplate)).toEqual([
      'test://alpha+items/{id}',
      'test://+items/{id}'
    ]);

    const read = await client.readResource({ uri: 'test://alpha+docs/readme' });
    expect(read.contents).toEqual([{ uri: 'test://alpha+docs/readme', text: 'readme of alpha' }]);
    // A URI the client expanded from a template: never listed, routed by decoding.
    const expanded = await client.readResource({ uri: 'test://alpha+items/42' });
    expect(expanded.contents).toEqual([{ uri: 'test://alpha+items/42', text: 'item 42 of alpha' }]);
    const bare = await client.readResource({ uri: 'test://items/7' });
    expect(bare.contents).toEqual([{ uri: 'test://items/7', text: 'item 7 of beta' }]);
  });

  it('answers an undecodable or unknown URI with -32602 and data.uri', async () => {
    await connect();
    const undecodable = await failure(client.readResource({ uri: 'test://zeta+docs/readme' }));
    expect(undecodable.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(undecodable.data).toMatchObject({ uri: 'test://zeta+docs/readme', reason: 'unknown_resource' });
    expect(undecodable.message).toContain('namespace "zeta", which no server has');
    const unknown = await failure(client.readResource({ uri: 'test://alpha+docs/missing' }));
    expect(unknown.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(unknown.data).toMatchObject({ uri: 'test://alpha+docs/missing' });
    expect(unknown.message).toContain('test://alpha+docs/missing');
    expect(unknown.message).not.toContain('test://docs/missing');
    expect((await client.readResource({ uri: 'test://docs/readme' })).contents).toHaveLength(1);
  });

  it("maps a 2025-era server's -32002 not-found to -32602 with the client's URI in data.uri", async () => {
    runtime.customize = (server, process) => {
      registerKinds(server, process);
      // This SDK never emits -32002 (it sends -32602): written raw, as an earlier SDK's server does.
      server.registerResource('gone', 'test://docs/gone', { description: 'Always missing' }, (_uri, ctx) => {
        const error = { code: -32002, message: 'Resource not found: test://docs/gone' };
        process.writeNoise(JSON.stringify({ jsonrpc: '2.0', id: ctx.mcpReq.id, error }));
        return new Promise(() => {});
      });
    };
    await connect();
    const error = await failure(client.readResource({ uri: 'test://alpha+docs/gone' }));
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(error.data).toMatchObject({ uri: 'test://alpha+docs/gone' });
    expect(error.message).toContain('test://alpha+docs/gone');
  });

  it("never passes a server's public cache hint on to a caller who is not anonymous", async () => {
    runtime.customize = (server, process) => {
      registerKinds(server, process);
      server.registerResource('shared', 'test://docs/shared', { description: 'Public' }, uri => ({
        contents: [{ uri: uri.href, text: 'shared' }],
        ttlMs: 60_000,
        cacheScope: 'public' as const
      }));
    };
    await connect();
    const read = (await client.readResource({ uri: 'test://alpha+docs/shared' })) as { cacheScope?: unknown };
    expect(read.cacheScope).toBe('private');
  });

  it('relays progress and cancellation for prompts/get and resources/read (completion/complete takes the same path)', async () => {
    const cancelled: string[] = [];
    /** Sends one progress, then waits until cancelled (or 50 ms without a cancellation). */
    const work = async (kind: string, ctx: ServerContext) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress: 1, total: 2, message: kind }
        });
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, ctx.mcpReq._meta?.['example.com/wait'] ? 10_000 : 50);
        ctx.mcpReq.signal.addEventListener('abort', () => {
          cancelled.push(kind);
          clearTimeout(timer);
          resolve();
        });
      });
    };
    runtime.customize = (server, process) => {
      registerKinds(server, process);
      server.registerPrompt('slow', { description: 'Slow' }, async ctx => {
        await work('prompt', ctx);
        return { messages: [] };
      });
      server.registerResource(
        'slow-item',
        new ResourceTemplate('test://slow/{id}', {
          list: undefined,
          complete: { id: () => ['1'] }
        }),
        { description: 'Slow' },
        async (uri, _variables, ctx) => {
          await work('resource', ctx);
          return { contents: [{ uri: uri.href, text: 'slow' }] };
        }
      );
    };
    await connect();
    const requests = {
      prompt: (meta: Record<string, unknown>, options: RequestOptions) =>
        client.getPrompt({ name: 'alpha__slow', _meta: meta }, options),
      resource: (meta: Record<string, unknown>, options: RequestOptions) =>
        client.readResource({ uri: 'test://alpha+slow/1', _meta: meta }, options)
    };
    for (const [kind, request] of Object.entries(requests)) {
      const progress: Progress[] = [];
      await request({}, { onprogress: p => progress.push(p) });
      expect(progress).toEqual([{ progress: 1, total: 2, message: kind }]);

      const abort = new AbortController();
      const pending = request(
        { 'example.com/wait': true },
        { signal: abort.signal, onprogress: () => abort.abort() }
      );
      await expect(pending).rejects.toThrow();
      await vi.waitFor(() => expect(cancelled).toContain(kind));
    }
  });

  it('answers completion/complete for a server without the completions capability itself', async () => {
    runtime.customize = (mcp, process) => {
      registerKinds(mcp, process);
      if (process.spec.id !== 'beta') return;
      // beta: prompts without completions (as a low-level server may be).
      mcp.server.removeRequestHandler('completion/complete');
      delete (mcp.server as unknown as { _capabilities: { completions?: unknown } })._capabilities
        .completions;
    };
    await connect();
    expect(catalog.capabilitiesOf('beta')?.completions).toBeUndefined();
    const answer = await client.complete({
      ref: { type: 'ref/prompt', name: 'greet' },
      argument: { name: 'who', value: 'a' }
    });
    expect(answer.completion).toEqual({ values: [], hasMore: false });
    // alpha still offers them, so the gateway does.
    expect(client.getServerCapabilities()?.completions).toBeDefined();
  });

  it('routes completion/complete by a prompt name or a template URI', async () => {
    await connect();
    const forPrompt = await client.complete({
      ref: { type: 'ref/prompt', name: 'alpha__greet' },
      argument: { name: 'who', value: 'a' }
    });
    expect(forPrompt.completion.values).toEqual(['ada', 'alan']);
    const forTemplate = await client.complete({
      ref: { type: 'ref/resource', uri: 'test://alpha+items/{id}' },
      argument: { name: 'id', value: '1' }
    });
    expect(forTemplate.completion.values).toEqual(['1', '12']);
    const unknown = await failure(
      client.complete({ ref: { type: 'ref/prompt', name: 'nobody__x' }, argument: { name: 'a', value: '' } })
    );
    expect(unknown.code).toBe(ProtocolErrorCode.InvalidParams);
  });

  it('rewrites the resources a tool UI, a tool result and a prompt point at, so they read back', async () => {
    runtime.customize = (mcp, process) => {
      registerKinds(mcp, process);
      mcp.registerTool(
        'show',
        { description: 'Has a UI', _meta: { ui: { resourceUri: 'test://docs/readme' }, other: 'kept' } },
        () => ({
          content: [
            { type: 'resource_link', uri: 'test://items/5', name: 'item 5' },
            { type: 'resource', resource: { uri: 'test://docs/readme', text: 'inline' } },
            { type: 'text', text: 'plain' }
          ]
        })
      );
      mcp.registerPrompt('cite', { description: 'Embeds a resource' }, () => ({
        messages: [
          { role: 'user', content: { type: 'resource', resource: { uri: 'test://items/9', text: 'nine' } } }
        ]
      }));
    };
    await connect();
    const { tools } = await client.listTools();
    expect(tools.find(tool => tool.name === 'alpha__show')?._meta).toEqual({
      ui: { resourceUri: 'test://alpha+docs/readme' },
      other: 'kept'
    });
    expect(tools.find(tool => tool.name === 'show')?._meta).toEqual({
      ui: { resourceUri: 'test://docs/readme' },
      other: 'kept'
    });
    const result = await client.callTool({ name: 'alpha__show', arguments: {} });
    expect(result.content).toEqual([
      { type: 'resource_link', uri: 'test://alpha+items/5', name: 'item 5' },
      { type: 'resource', resource: { uri: 'test://alpha+docs/readme', text: 'inline' } },
      { type: 'text', text: 'plain' }
    ]);
    const linked = await client.readResource({ uri: 'test://alpha+items/5' });
    expect(linked.contents).toEqual([{ uri: 'test://alpha+items/5', text: 'item 5 of alpha' }]);
    const prompt = await client.getPrompt({ name: 'alpha__cite' });
    expect(prompt.messages[0]!.content).toEqual({
      type: 'resource',
      resource: { uri: 'test://alpha+items/9', text: 'nine' }
    });
  });

  it('keeps prompts and resources within a scoped token: its servers, never its tool globs alone', async () => {
    await connect();
    const route = catalog.resolvePrompt('alpha__greet');
    const send = (c: Client) => c.getPrompt({ name: route.name, arguments: { who: 'x' } });
    const subject = { kind: 'prompt' as const, name: route.name };
    await expect(
      runner.forward(route, subject, send, {
        principal: { id: 'token:tools', kind: 'token', admin: false, tools: ['alpha__*'] }
      })
    ).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('token:tools') });
    await expect(
      runner.forward(route, subject, send, {
        principal: { id: 'token:beta', kind: 'token', admin: false, servers: ['beta'] }
      })
    ).rejects.toMatchObject({ code: 'forbidden' });
    const allowed = await runner.forward(route, subject, send, {
      principal: { id: 'token:alpha', kind: 'token', admin: false, servers: ['alpha'] }
    });
    expect(allowed.messages).toHaveLength(1);
  });

  it('stops a forwarded request on shutdown like a call', async () => {
    await connect();
    runner.stopCalls('the gateway is shutting down');
    const route = catalog.resolveResource('test://alpha+docs/readme');
    await expect(
      runner.forward(route, { kind: 'resource', name: route.name }, c => c.readResource({ uri: route.name }))
    ).rejects.toMatchObject({
      code: 'server_unavailable',
      message: expect.stringContaining('shutting down')
    });
  });

  it("includes each server's own instructions under its entry", () => {
    const withOwn = describeServers(SPECS, new Map([['alpha', 'Use alpha for A.\nNever for B.']]));
    expect(withOwn.split('\n')).toEqual(
      expect.arrayContaining(['- alpha: Alpha', '    Use alpha for A.', '    Never for B.', '- beta'])
    );
  });
});
