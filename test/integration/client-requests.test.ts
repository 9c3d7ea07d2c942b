import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { ClientCapabilities } from '@modelcontextprotocol/client';
import { EVERYTHING_SERVER, FIXTURE_SERVER, GatewayProcess, textOf } from '../support/gateway-process.js';

/**
 * Server-to-client requests (sampling, elicitation, roots) through the real daemon: the reference
 * server's tools that ask, and the fixture's `ask` tool (a 2025-era server, so it may ask), each
 * answered by the real SDK client that made the call.
 */
const CONFIG = `
defaults:
  idleTimeout: 60
servers:
  everything:
    command: ["${process.execPath}", "${EVERYTHING_SERVER}", "stdio"]
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_ASK: "1"
      FIXTURE_LEGACY_ONLY: "1"
  modern:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env:
      FIXTURE_ASK: "1"
  ordered:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    maxConcurrency: 1
    env:
      FIXTURE_ASK: "1"
      FIXTURE_LEGACY_ONLY: "1"
  impatient:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    callTimeout: 2
    env:
      FIXTURE_ASK: "1"
      FIXTURE_LEGACY_ONLY: "1"
`;

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await GatewayProcess.start(CONFIG);
  await gateway.discovered();
});

afterAll(async () => {
  await gateway?.dispose();
});

/** What one client was asked, by method. */
type Asked = { method: string; params: unknown }[];

/** A 2025-era client that answers sampling, elicitation and roots as `name`, and records what it was asked. */
async function askedClient(
  name: string,
  capabilities: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: {} },
  mode: 'legacy' | 'auto' = 'legacy'
): Promise<{ client: Client; asked: Asked }> {
  const asked: Asked = [];
  const client = new Client({ name, version: '1.0.0' }, { capabilities, versionNegotiation: { mode } });
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', request => {
      asked.push({ method: request.method, params: request.params });
      return {
        role: 'assistant',
        content: { type: 'text', text: `sampled by ${name}` },
        model: `model-of-${name}`
      };
    });
  }
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', request => {
      asked.push({ method: request.method, params: request.params });
      return { action: 'accept', content: { name } };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler('roots/list', request => {
      asked.push({ method: request.method, params: request.params });
      return { roots: [{ uri: `file:///home/${name}`, name }] };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(gateway.url));
  return { client, asked };
}

describe('server-to-client requests, 2025 era', () => {
  it('lists the reference server tools shown only to capable clients', async () => {
    const { client } = await askedClient('lister');
    try {
      const names = (await client.listTools()).tools.map(tool => tool.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'everything__trigger-sampling-request',
          'everything__trigger-elicitation-request',
          'everything__get-roots-list'
        ])
      );
    } finally {
      await client.close();
    }
  });

  it("passes a server's sampling request to the calling client and its answer back", async () => {
    const { client, asked } = await askedClient('alice');
    try {
      const result = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'a haiku' }
      });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('sampled by alice');
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatchObject({ method: 'sampling/createMessage' });
      expect(JSON.stringify(asked[0]!.params)).toContain('a haiku');
    } finally {
      await client.close();
    }
  });

  it("passes an elicitation to the calling client, and the server sees the client's answer", async () => {
    const { client, asked } = await askedClient('bob');
    try {
      const result = await client.callTool({
        name: 'everything__trigger-elicitation-request',
        arguments: {}
      });
      expect(result.isError).toBeFalsy();
      const text = (result.content as { text?: string }[]).map(block => block.text ?? '').join('\n');
      expect(text).toContain('User provided the requested information');
      expect(text).toContain('bob');
      expect(asked.map(entry => entry.method)).toEqual(['elicitation/create']);
    } finally {
      await client.close();
    }
  });

  it("answers roots/list with the calling client's roots, each session its own", async () => {
    const carol = await askedClient('carol');
    const dave = await askedClient('dave');
    try {
      const first = await carol.client.callTool({ name: 'fixture__ask', arguments: { what: 'roots' } });
      const second = await dave.client.callTool({ name: 'fixture__ask', arguments: { what: 'roots' } });
      expect(JSON.parse(textOf(first))).toEqual({ roots: [{ uri: 'file:///home/carol', name: 'carol' }] });
      expect(JSON.parse(textOf(second))).toEqual({ roots: [{ uri: 'file:///home/dave', name: 'dave' }] });
      expect(carol.asked.map(entry => entry.method)).toEqual(['roots/list']);
      expect(dave.asked.map(entry => entry.method)).toEqual(['roots/list']);
    } finally {
      await carol.client.close();
      await dave.client.close();
    }
  });

  it('refuses, never guesses, a request made while two sessions call the same server at once', async () => {
    const erin = await askedClient('erin');
    const frank = await askedClient('frank');
    try {
      const [first, second] = await Promise.all([
        erin.client.callTool({ name: 'fixture__ask', arguments: { what: 'sampling', delayMs: 300 } }),
        frank.client.callTool({ name: 'fixture__ask', arguments: { what: 'sampling', delayMs: 300 } })
      ]);
      // The first question to come finds both calls in flight and is refused. Its call then ends at
      // once, so the other's question may find its own call alone and be asked: never the wrong one.
      const refusal = /^-32601: .*cannot pass sampling\/createMessage from server fixture.*different clients/;
      const outcomes = [
        { result: first, own: 'sampled by erin', asked: erin.asked },
        { result: second, own: 'sampled by frank', asked: frank.asked }
      ].map(({ result, own, asked }) => {
        if (result.isError) {
          expect(textOf(result)).toMatch(refusal);
          expect(asked).toEqual([]);
          return 'refused';
        }
        expect(textOf(result)).toContain(own);
        expect(asked).toHaveLength(1);
        return 'own';
      });
      expect(outcomes).toContain('refused');
      // Each alone is asked again at once: nothing was left waiting.
      const alone = await erin.client.callTool({ name: 'fixture__ask', arguments: { what: 'sampling' } });
      expect(textOf(alone)).toContain('sampled by erin');
    } finally {
      await erin.client.close();
      await frank.client.close();
    }
  });

  it('gives two sessions calling one server at once each its own questions, when it serves one at a time', async () => {
    const rita = await askedClient('rita');
    const sam = await askedClient('sam');
    try {
      const [first, second] = await Promise.all([
        rita.client.callTool({
          name: 'ordered__ask',
          arguments: { what: ['roots', 'sampling'], delayMs: 200 }
        }),
        sam.client.callTool({
          name: 'ordered__ask',
          arguments: { what: ['roots', 'sampling'], delayMs: 200 }
        })
      ]);
      expect(JSON.parse(textOf(first))).toMatchObject([
        { roots: [{ name: 'rita' }] },
        { content: { text: 'sampled by rita' } }
      ]);
      expect(JSON.parse(textOf(second))).toMatchObject([
        { roots: [{ name: 'sam' }] },
        { content: { text: 'sampled by sam' } }
      ]);
      expect(rita.asked.map(entry => entry.method)).toEqual(['roots/list', 'sampling/createMessage']);
      expect(sam.asked.map(entry => entry.method)).toEqual(['roots/list', 'sampling/createMessage']);
    } finally {
      await rita.client.close();
      await sam.client.close();
    }
  });

  it('gives the server -32601 for a client without the capability, and the call completes', async () => {
    const { client, asked } = await askedClient('gina', { roots: {} });
    try {
      const result = await client.callTool({ name: 'fixture__ask', arguments: { what: 'elicit' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /^-32601: .*elicitation\/create from server fixture.*did not declare the capability elicitation \(form mode\)/
      );
      expect(asked).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('withdraws a question from the client when the call it belongs to is cancelled', async () => {
    const client = new Client(
      { name: 'quinn', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: 'legacy' } }
    );
    let asked!: () => void;
    const question = new Promise<void>(resolve => (asked = resolve));
    let withdrawn!: () => void;
    const gone = new Promise<void>(resolve => (withdrawn = resolve));
    // The first question is never answered: it stays open until it is withdrawn.
    let questions = 0;
    client.setRequestHandler('elicitation/create', (_request, ctx) => {
      if (questions++ > 0) return { action: 'accept', content: { name: 'quinn' } };
      asked();
      ctx.mcpReq.signal.addEventListener('abort', () => withdrawn());
      return new Promise(() => undefined);
    });
    await client.connect(new StreamableHTTPClientTransport(gateway.url));
    try {
      const caller = new AbortController();
      const call = client.callTool(
        { name: 'fixture__ask', arguments: { what: 'elicit' } },
        { signal: caller.signal }
      );
      await question;
      caller.abort(new Error('changed my mind'));
      await expect(call).rejects.toThrow();
      await gone;
      // Nothing was left waiting: the server asks this session again at once.
      const again = await client.callTool({ name: 'fixture__ask', arguments: { what: 'elicit' } });
      expect(JSON.parse(textOf(again))).toEqual({ action: 'accept', content: { name: 'quinn' } });
    } finally {
      await client.close();
    }
  });

  it("answers a 2026-era server's input_required by asking the calling 2025-era client", async () => {
    const { client, asked } = await askedClient('hana');
    try {
      const result = await client.callTool({ name: 'modern__ask', arguments: { what: 'roots' } });
      expect(JSON.parse(textOf(result))).toEqual({ roots: [{ uri: 'file:///home/hana', name: 'hana' }] });
      expect(asked.map(entry => entry.method)).toEqual(['roots/list']);
    } finally {
      await client.close();
    }
  });

  it("asks a 2025-era caller a 2026-era server's questions while other clients' calls share the server", async () => {
    const ivan = await askedClient('ivan');
    const judy = await askedClient('judy');
    try {
      // Ivan's call is in flight on the same connection when the server asks Judy's question.
      const slow = ivan.client.callTool({ name: 'modern__slow', arguments: { ms: 1_500 } });
      await new Promise(resolve => setTimeout(resolve, 300));
      const result = await judy.client.callTool({ name: 'modern__ask', arguments: { what: 'sampling' } });
      expect(result.isError).toBeFalsy();
      expect(JSON.parse(textOf(result))).toMatchObject({ content: { text: 'sampled by judy' } });
      expect(judy.asked.map(entry => entry.method)).toEqual(['sampling/createMessage']);
      expect(ivan.asked).toEqual([]);
      expect(textOf(await slow)).toBe('slept 1500');

      // The same for a prompt: its question reaches the client that asked for the prompt.
      const again = ivan.client.callTool({ name: 'modern__slow', arguments: { ms: 1_000 } });
      await new Promise(resolve => setTimeout(resolve, 300));
      const prompt = await judy.client.getPrompt({ name: 'modern__ask' });
      expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: 'root: file:///home/judy' });
      expect(judy.asked.map(entry => entry.method)).toEqual(['sampling/createMessage', 'roots/list']);
      expect(ivan.asked).toEqual([]);
      await again;
    } finally {
      await ivan.client.close();
      await judy.client.close();
    }
  });
});

describe('server-to-client requests, 2026 era', () => {
  it("passes a 2026-era server's input_required to the 2026-era caller, and its retry back", async () => {
    const { client, asked } = await askedClient('ivan', undefined, 'auto');
    try {
      const sampled = await client.callTool({ name: 'modern__ask', arguments: { what: 'sampling' } });
      expect(JSON.parse(textOf(sampled))).toMatchObject({ content: { text: 'sampled by ivan' } });
      const elicited = await client.callTool({ name: 'modern__ask', arguments: { what: 'elicit' } });
      expect(JSON.parse(textOf(elicited))).toEqual({ action: 'accept', content: { name: 'ivan' } });
      expect(asked.map(entry => entry.method)).toEqual(['sampling/createMessage', 'elicitation/create']);
    } finally {
      await client.close();
    }
  });

  it('refuses a forged, a replayed or a foreign requestState with a clear error', async () => {
    const { client } = await askedClient('jo', undefined, 'auto');
    try {
      const call = (name: string, params: Record<string, unknown>) =>
        client.request(
          { method: 'tools/call', params: { name, arguments: { what: 'roots' }, ...params } },
          { allowInputRequired: true }
        );
      const first = (await call('modern__ask', {})) as unknown as {
        resultType: string;
        inputRequests: Record<string, unknown>;
        requestState: string;
      };
      expect(first.resultType).toBe('input_required');
      expect(Object.values(first.inputRequests)).toEqual([{ method: 'roots/list' }]);
      const key = Object.keys(first.inputRequests)[0]!;
      const inputResponses = { [key]: { roots: [{ uri: 'file:///x' }] } };

      const forged = `${first.requestState.slice(0, -4)}AAAA`;
      await expect(call('modern__ask', { inputResponses, requestState: forged })).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('Invalid or expired requestState')
      });
      const answered = await call('modern__ask', { inputResponses, requestState: first.requestState });
      expect(JSON.parse(textOf(answered as { content?: unknown }))).toEqual({
        roots: [{ uri: 'file:///x' }]
      });
      const replayed = call('modern__ask', { inputResponses, requestState: first.requestState });
      await expect(replayed).rejects.toBeInstanceOf(ProtocolError);
      await expect(replayed).rejects.toMatchObject({ code: -32602 });

      const other = (await call('modern__ask', {})) as unknown as { requestState: string };
      await expect(
        call('fixture__ask', { inputResponses, requestState: other.requestState })
      ).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('issued for tool modern__ask')
      });
    } finally {
      await client.close();
    }
  });

  it('answers -32021 to a 2026-era caller asked for what it did not declare', async () => {
    const { client, asked } = await askedClient('kim', { roots: {} }, 'auto');
    try {
      await expect(
        client.callTool({ name: 'modern__ask', arguments: { what: 'sampling' } })
      ).rejects.toMatchObject({ code: -32021 });
      expect(asked).toEqual([]);
      const roots = await client.callTool({ name: 'modern__ask', arguments: { what: 'roots' } });
      expect(JSON.parse(textOf(roots))).toEqual({ roots: [{ uri: 'file:///home/kim', name: 'kim' }] });
    } finally {
      await client.close();
    }
  });

  it("asks a 2026-era caller by input_required for a 2025-era server's pushed requests", async () => {
    const { client, asked } = await askedClient('lena', undefined, 'auto');
    try {
      const roots = await client.callTool({ name: 'fixture__ask', arguments: { what: 'roots' } });
      expect(JSON.parse(textOf(roots))).toEqual({ roots: [{ uri: 'file:///home/lena', name: 'lena' }] });
      const sampled = await client.callTool({ name: 'fixture__ask', arguments: { what: 'sampling' } });
      expect(JSON.parse(textOf(sampled))).toMatchObject({ content: { text: 'sampled by lena' } });
      // One request, three rounds: each question the server pushes in turn is one input_required.
      const turns = await client.callTool({
        name: 'fixture__ask',
        arguments: { what: ['elicit', 'roots', 'sampling'] }
      });
      expect(JSON.parse(textOf(turns))).toMatchObject([
        { action: 'accept', content: { name: 'lena' } },
        { roots: [{ name: 'lena' }] },
        { content: { text: 'sampled by lena' } }
      ]);
      const prompt = await client.getPrompt({ name: 'fixture__ask' });
      expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: 'root: file:///home/lena' });
      expect(asked.map(entry => entry.method)).toEqual([
        'roots/list',
        'sampling/createMessage',
        'elicitation/create',
        'roots/list',
        'sampling/createMessage',
        'roots/list'
      ]);
    } finally {
      await client.close();
    }
  });

  it('parks the upstream request between rounds, under a sealed single-use state', async () => {
    const { client } = await askedClient('mona', undefined, 'auto');
    type InputRequiredAnswer = {
      resultType: string;
      inputRequests: Record<string, unknown>;
      requestState: string;
    };
    const call = (name: string, args: Record<string, unknown>, params: Record<string, unknown> = {}) =>
      client.request(
        { method: 'tools/call', params: { name, arguments: args, ...params } },
        { allowInputRequired: true }
      ) as Promise<unknown>;
    try {
      const args = { what: ['roots', 'sampling'], together: true };
      const first = (await call('fixture__ask', args)) as InputRequiredAnswer;
      expect(first.resultType).toBe('input_required');
      // A retry that answers nothing: each question still open is asked again, under a new state.
      const second = (await call('fixture__ask', args, {
        inputResponses: {},
        requestState: first.requestState
      })) as InputRequiredAnswer;
      expect(second.resultType).toBe('input_required');
      expect(second.requestState).not.toBe(first.requestState);
      expect(Object.keys(second.inputRequests)).toEqual(
        expect.arrayContaining(Object.keys(first.inputRequests))
      );
      const methods = Object.values(second.inputRequests).map(
        request => (request as { method: string }).method
      );
      expect(methods).toEqual(['roots/list', 'sampling/createMessage']);
      const keys = Object.keys(second.inputRequests);
      // A partial answer: the question left open is asked again.
      const rootsAnswer = { roots: [{ uri: 'file:///only' }] };
      const third = (await call('fixture__ask', args, {
        inputResponses: { [keys[0]!]: rootsAnswer },
        requestState: second.requestState
      })) as InputRequiredAnswer;
      expect(Object.keys(third.inputRequests)).toEqual([keys[1]]);
      const sampling = { role: 'assistant', content: { type: 'text', text: 'by hand' }, model: 'm' };
      const done = (await call('fixture__ask', args, {
        inputResponses: { [keys[1]!]: sampling },
        requestState: third.requestState
      })) as { content: { text: string }[] };
      expect(JSON.parse(done.content[0]!.text)).toEqual([rootsAnswer, sampling]);
      // Each state was good for one retry.
      await expect(
        call('fixture__ask', args, { inputResponses: {}, requestState: third.requestState })
      ).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
    }
  });

  it('ends a parked request its caller never comes back for, and says so on a late retry', async () => {
    const { client } = await askedClient('nora', undefined, 'auto');
    const call = (params: Record<string, unknown> = {}) =>
      client.request(
        { method: 'tools/call', params: { name: 'impatient__ask', arguments: { what: 'roots' }, ...params } },
        { allowInputRequired: true }
      ) as Promise<unknown>;
    try {
      const first = (await call()) as { inputRequests: Record<string, unknown>; requestState: string };
      const key = Object.keys(first.inputRequests)[0]!;
      // The server's question waits as long as a call may (callTimeout: 2 s), then the request ends.
      // Nothing outside shows the parked call's own timer firing: wait well past it (a loaded machine
      // may fire it late).
      await new Promise(resolve => setTimeout(resolve, 4_000));
      await expect(
        call({ inputResponses: { [key]: { roots: [] } }, requestState: first.requestState })
      ).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('the request this requestState continues has ended')
      });
      // Nothing was left waiting: the server serves the next call at once.
      const again = await client.callTool({ name: 'impatient__ask', arguments: { what: 'roots' } });
      expect(JSON.parse(textOf(again))).toEqual({ roots: [{ uri: 'file:///home/nora', name: 'nora' }] });
    } finally {
      await client.close();
    }
  });

  it('gives a 2025-era server -32601 for what the 2026-era caller did not declare (the call completes)', async () => {
    const { client, asked } = await askedClient('olga', { roots: {} }, 'auto');
    try {
      const result = await client.callTool({ name: 'fixture__ask', arguments: { what: 'elicit' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /^-32601: .*elicitation\/create from server fixture.*did not declare the capability elicitation/
      );
      expect(asked).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it("passes the reference server's sampling to a 2026-era caller", async () => {
    const { client, asked } = await askedClient('pia', undefined, 'auto');
    try {
      const result = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'a limerick' }
      });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('sampled by pia');
      expect(asked.map(entry => entry.method)).toEqual(['sampling/createMessage']);
    } finally {
      await client.close();
    }
  });
});
