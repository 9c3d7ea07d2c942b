import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import { inputRequired } from '@modelcontextprotocol/server';
import { pino } from 'pino';
import * as z from 'zod/v4';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import { GatewayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { UndeliveredError } from '../../src/connectors/connector.js';
import { coldStartOf } from '../../src/upstream/cold-start.js';
import type { ClientAsker } from '../../src/upstream/client-askers.js';
import { Upstream, type UpstreamState } from '../../src/upstream/upstream.js';
import { RefusingConnector } from '../support/fake-connector.js';
import {
  FAKE_TOOLS,
  fakeConnector,
  FakeRuntime,
  fakeSpec,
  RICH_RESULT,
  silentLog
} from '../support/fake-runtime.js';

const identity = { name: 'test-gateway', version: '0.0.0' };

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

function setup(
  overrides: Partial<Omit<ProcessSpec, 'fingerprint'>> = {},
  options: { startTimeoutMs?: number; runtime?: FakeRuntime; maxLineBytes?: number; log?: Logger } = {}
) {
  const runtime = options.runtime ?? new FakeRuntime();
  const spec = fakeSpec('alpha', overrides);
  const upstream = new Upstream({
    spec,
    connector: fakeConnector(
      spec,
      runtime,
      options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }
    ),
    identity,
    log: options.log ?? silentLog,
    startTimeoutMs: options.startTimeoutMs ?? 5_000
  });
  cleanups.push(() => runtime.stopAll());
  cleanups.push(() => upstream.close());
  return { runtime, spec, upstream };
}

/** An upstream for server `id` whose every open is `open`'s (a connector that never connects). */
function refusedUpstream(id: string, open: () => Promise<never>, startTimeoutMs = 5_000): Upstream {
  const upstream = new Upstream({
    spec: fakeSpec(id),
    connector: { open },
    identity,
    log: silentLog,
    startTimeoutMs
  });
  cleanups.push(() => upstream.close());
  return upstream;
}

/** A fake runtime whose server has a tool `ask` that asks its caller for roots by input_required. */
function askingRuntime(): FakeRuntime {
  const runtime = new FakeRuntime();
  runtime.customize = server =>
    server.registerTool(
      'ask',
      { description: 'Asks its caller for roots', inputSchema: z.object({}) },
      (_args, ctx) => {
        const answer = ctx.mcpReq.inputResponses?.answer;
        if (!answer) return inputRequired({ inputRequests: { answer: { method: 'roots/list' } } });
        return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
      }
    );
  return runtime;
}

const text = (result: { content: unknown[] }) => (result.content[0] as { text: string }).text;
const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('Upstream start', () => {
  it('starts nothing before the first call', async () => {
    const { runtime, upstream } = setup();
    await delay(50);
    expect(runtime.starts).toBe(0);
    expect(upstream.state).toBe('stopped');

    const first = await upstream.callTool('echo', { text: 'hi' });
    expect(runtime.starts).toBe(1);
    expect(first.cold).toBe(true);
    expect(upstream.state).toBe('ready');

    const second = await upstream.callTool('echo', { text: 'again' });
    expect(second.cold).toBe(false);
    expect(second.startMs).toBe(0);
    expect(runtime.starts).toBe(1);
  });

  it('shares one start between 20 concurrent first calls', async () => {
    const { runtime, upstream } = setup();
    runtime.startDelayMs = 50;
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => upstream.callTool('echo', { text: `call ${i}` }))
    );
    expect(runtime.starts).toBe(1);
    expect(runtime.processes).toHaveLength(1);
    expect(runtime.running).toBe(1);
    expect(outcomes.map(o => text(o.result))).toEqual(Array.from({ length: 20 }, (_, i) => `call ${i}`));
    expect(runtime.calls.filter(c => c.tool === 'echo')).toHaveLength(20);
    expect(runtime.calls.every(c => c.instance === 1)).toBe(true);
  });

  it('learns the era on the first start and skips the probe later', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    expect(upstream.prior).toBeUndefined();
    await upstream.callTool('echo', { text: 'x' });
    expect(upstream.prior?.kind).toBe('modern');
    expect(runtime.starts).toBe(1);
    expect(runtime.processes[0]!.methods[0]).toBe('server/discover');

    await upstream.stop('test');
    await upstream.callTool('echo', { text: 'y' });
    expect(runtime.starts).toBe(2);
    expect(runtime.processes[1]!.methods).not.toContain('server/discover');
    expect(runtime.processes[1]!.methods).not.toContain('initialize');
    expect(runtime.processes[1]!.methods).toContain('tools/call');
  });

  it('falls back to a 2025-era handshake when the server exits on the era probe', async () => {
    const { runtime, upstream } = setup();
    runtime.legacyOnly = true;
    runtime.exitOnProbe = true;
    const outcome = await upstream.callTool('echo', { text: 'legacy' });
    expect(text(outcome.result)).toBe('legacy');
    expect(runtime.starts).toBe(2);
    expect(runtime.processes[0]!.exit).toMatchObject({ requested: false });
    expect(upstream.prior).toEqual({ kind: 'legacy' });

    // The era is now known: a restart connects directly, without a probe that would kill it.
    await upstream.stop('test');
    await upstream.callTool('echo', { text: 'again' });
    expect(runtime.starts).toBe(3);
    expect(runtime.processes[0]!.methods[0]).toBe('server/discover');
    expect(runtime.processes[2]!.methods[0]).toBe('initialize');
  });

  it('falls back to 2025-era when the probed server closes stdout before its exit is seen', async () => {
    // With a real pipe, EOF on stdout often arrives before the exit status. The exit must still
    // count as the server's own doing, so the probe fallback applies.
    const { runtime, upstream } = setup();
    runtime.legacyOnly = true;
    runtime.exitOnProbe = true;
    runtime.exitLagMs = 20;
    const outcome = await upstream.callTool('echo', { text: 'legacy' });
    expect(text(outcome.result)).toBe('legacy');
    expect(runtime.starts).toBe(2);
    expect(upstream.prior).toEqual({ kind: 'legacy' });
  });

  it('reaches a 2025-era server that answers the probe with an error', async () => {
    const { runtime, upstream } = setup();
    runtime.legacyOnly = true;
    const outcome = await upstream.callTool('echo', { text: 'plain legacy' });
    expect(text(outcome.result)).toBe('plain legacy');
    expect(runtime.starts).toBe(1);
    expect(upstream.prior).toEqual({ kind: 'legacy' });
  });

  it('fails the start with start_failed when initialize is never answered', async () => {
    const { runtime, upstream } = setup({}, { startTimeoutMs: 300 });
    runtime.silent = true;
    const began = performance.now();
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
      code: 'start_failed',
      serverId: 'alpha'
    });
    const elapsed = performance.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(runtime.starts).toBe(1);
    expect(runtime.running).toBe(0);
    expect(runtime.processes[0]!.exit).toMatchObject({ requested: true });
    expect(upstream.state).toBe('stopped');
  });

  it('marks the server failed after 3 failed starts in a minute and then fails fast', async () => {
    const { runtime, upstream } = setup();
    runtime.failStarts = 10;
    runtime.failReason = 'no such file: /opt/fake-server-xyz';
    for (let i = 0; i < 2; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
      expect(upstream.state).toBe('stopped');
    }
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('failed');
    expect(runtime.starts).toBe(3);

    const began = performance.now();
    const fourth = upstream.callTool('echo', { text: 'x' });
    await expect(fourth).rejects.toBeInstanceOf(GatewayError);
    await expect(fourth).rejects.toMatchObject({
      code: 'server_unavailable',
      serverId: 'alpha',
      message: expect.stringContaining('no such file: /opt/fake-server-xyz')
    });
    // At once: no start tried (a start would be counted); the bound only leaves room for a loaded machine.
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(runtime.starts).toBe(3);
    expect(upstream.state).toBe('failed');
    expect(upstream.status().lastError).toContain('no such file: /opt/fake-server-xyz');
  });

  it('reports one failure for concurrent calls that shared a failed start', async () => {
    // All 20 in flight at once (no queue), so all share the one start.
    const { runtime, upstream } = setup({ maxConcurrency: 32 });
    runtime.failStarts = 1;
    runtime.startDelayMs = 30;
    const calls = Array.from({ length: 20 }, () => upstream.callTool('echo', { text: 'x' }));
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'start_failed' });
    expect(runtime.starts).toBe(1);
    expect(upstream.state).toBe('stopped');
    expect(text((await upstream.callTool('echo', { text: 'ok' })).result)).toBe('ok');
  });

  it('fails the start with start_failed when the process exits during startup', async () => {
    const { runtime, upstream } = setup();
    runtime.exitOnInput = true;
    const call = upstream.callTool('echo', { text: 'x' });
    await expect(call).rejects.toMatchObject({ serverId: 'alpha' });
    // errors.ts: start_failed is "Starting the server failed (spawn error, initialize never
    // answered, exited early)"; server_exited is for calls in flight when the process ends.
    await expect(call).rejects.toMatchObject({ code: 'start_failed' });
    expect(runtime.running).toBe(0);
    expect(upstream.state).toBe('stopped');
  });

  it('names the exit reason when the process exits during startup', async () => {
    const { runtime, upstream } = setup();
    runtime.exitOnInput = true;
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
      message: expect.stringContaining('exit code 2')
    });
  });

  // Neither is the server's fault: the next call after the engine answers, or the image is on it,
  // starts the server at once, with no cool-down.
  it.each([
    ['the container engine is unreachable', 'engine_unreachable', 'connect ENOENT /var/run/docker.sock'],
    [
      'its image cannot be pulled',
      'image_unavailable',
      'image example/alpha:1 could not be pulled: manifest unknown'
    ],
    ['a remote server refuses connections', 'remote_unreachable', 'is unreachable: connection refused']
  ] as const)('does not mark the server failed while %s', async (_, code, reason) => {
    const { runtime, upstream } = setup();
    runtime.failStarts = 5;
    runtime.failCode = code;
    runtime.failReason = reason;
    for (let i = 0; i < 5; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code });
      expect(upstream.state).toBe('stopped');
    }
    expect(runtime.starts).toBe(5);
    expect(upstream.status().lastError).toContain(reason);
    expect(text((await upstream.callTool('echo', { text: 'back' })).result)).toBe('back');
  });

  it('marks a remote server failed after 3 starts that each ran out startTimeout unanswered', async () => {
    let opens = 0;
    const upstream = refusedUpstream(
      'slowremote',
      async () => {
        opens++;
        await delay(60);
        throw new GatewayError('remote_unreachable', 'server slowremote did not answer within 0.05s');
      },
      50
    );
    for (let i = 0; i < 3; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
        code: 'remote_unreachable'
      });
    }
    expect(upstream.state).toBe('failed');
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toThrow(
      /failed to start 3 times in a minute/
    );
    expect(opens).toBe(3);
  });

  it('does not mark a remote server failed while it waits for a login', async () => {
    let opens = 0;
    const upstream = refusedUpstream('plain', () => {
      opens++;
      return Promise.reject(
        new GatewayError('login_required', 'server plain needs a login: run mcp-gateway login plain')
      );
    });
    for (let i = 0; i < 5; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
        code: 'login_required'
      });
      expect(upstream.state).toBe('stopped');
    }
    expect(opens).toBe(5);
    expect(upstream.status().lastError).toContain('mcp-gateway login plain');
  });

  it('clears the failure count after a successful start', async () => {
    const { runtime, upstream } = setup();
    runtime.failStarts = 2;
    for (let i = 0; i < 2; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    }
    await upstream.callTool('echo', { text: 'ok' });
    await upstream.stop('test');
    runtime.failStarts = 1;
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('stopped');
    expect(upstream.status().lastError).toContain('spawn ENOENT');
  });

  it('refuses calls to an unavailable server without starting it', async () => {
    const { runtime, upstream } = setup({ unavailable: 'environment variable API_TOKEN is not set' });
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
      code: 'server_unavailable',
      serverId: 'alpha',
      message: expect.stringContaining('API_TOKEN is not set')
    });
    await expect(upstream.discover()).rejects.toMatchObject({ code: 'server_unavailable' });
    expect(runtime.starts).toBe(0);
    expect(upstream.status().lastError).toContain('API_TOKEN');
  });
});

describe('Upstream failure window (fake Date only)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('forgets failed starts older than a minute', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const { runtime, upstream } = setup();
    runtime.failStarts = 10;
    for (let i = 0; i < 2; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    }
    vi.setSystemTime(new Date('2026-01-01T00:01:01Z'));
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('stopped');
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('stopped');
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('failed');
    expect(runtime.starts).toBe(5);
  });

  it('tries again once the failed cooldown is over', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const { runtime, upstream } = setup();
    runtime.failStarts = 3;
    for (let i = 0; i < 3; i++) {
      await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    }
    expect(upstream.state).toBe('failed');
    vi.setSystemTime(new Date('2026-01-01T00:00:29Z'));
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
      code: 'server_unavailable',
      message: expect.stringContaining('2026-01-01T00:00:30.000Z')
    });
    expect(runtime.starts).toBe(3);
    vi.setSystemTime(new Date('2026-01-01T00:00:31Z'));
    expect(text((await upstream.callTool('echo', { text: 'back' })).result)).toBe('back');
    expect(upstream.state).toBe('ready');
    expect(upstream.status().lastError).toBeNull();
  });
});

describe('Upstream calls', () => {
  it('drops only the io.modelcontextprotocol/ _meta keys, which describe the hop', async () => {
    const runtime = new FakeRuntime();
    runtime.customize = server => {
      server.registerTool('hop', { description: 'Hop meta' }, () => ({
        content: [],
        _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' }, 'example.com/kept': 1 }
      }));
      server.registerTool('hop_only', { description: 'Only hop meta' }, () => ({
        content: [{ type: 'text', text: 'x' }],
        _meta: { 'io.modelcontextprotocol/server': 'fake' }
      }));
    };
    const { upstream } = setup({}, { runtime });
    expect((await upstream.callTool('hop', {})).result).toEqual({
      content: [],
      _meta: { 'example.com/kept': 1 }
    });
    expect((await upstream.callTool('hop_only', {})).result).toEqual({
      content: [{ type: 'text', text: 'x' }]
    });
  });

  it.each(['legacy', 'modern'] as const)(
    'refuses a %s-era result of the wrong shape with a clear error, and serves on',
    async era => {
      const runtime = new FakeRuntime();
      runtime.legacyOnly = era === 'legacy';
      // The SDK's own server checks what its tools return, so a malformed answer is written by
      // hand, in reply to the call's own id; the handler then waits until the test ends.
      const answers: Record<string, Record<string, unknown>> = {
        bare: { structuredContent: { n: 1 } },
        bad_content: { content: 'not a list' },
        bad_block: { content: [{ text: 'no type' }] },
        bad_flag: { content: [], isError: 'yes' }
      };
      runtime.customize = (server, process) => {
        for (const [name, result] of Object.entries(answers)) {
          server.registerTool(name, { description: 'answers by hand' }, async ctx => {
            const body = era === 'modern' ? { resultType: 'complete', ...result } : result;
            process.writeNoise(JSON.stringify({ jsonrpc: '2.0', id: ctx.mcpReq.id, result: body }));
            await delay(60_000);
            return { content: [] };
          });
        }
      };
      const { upstream } = setup({}, { runtime });
      const failures = [
        ['bad_content', '`content` is not a list'],
        ['bad_block', 'content[0] has no string `type`'],
        ['bad_flag', '`isError` is not a boolean']
      ];
      if (era === 'legacy') {
        // 2025-era results are checked by the gateway's own shape check, which fills in `content`
        // as the SDK's schema does.
        expect((await upstream.callTool('bare', {})).result).toEqual({
          content: [],
          structuredContent: { n: 1 }
        });
      } else {
        // 2026-era results are validated by the SDK's codec before the gateway's check; `content`
        // is required there.
        failures.push(['bare', 'content']);
      }
      for (const [tool, problem] of failures) {
        const failure = await upstream.callTool(tool!, {}).then(
          () => undefined,
          (error: unknown) => error
        );
        expect(failure, tool).toBeInstanceOf(GatewayError);
        expect((failure as GatewayError).code, tool).toBe('invalid_result');
        expect((failure as Error).message, tool).toContain(
          `server alpha answered ${tool} with an invalid result`
        );
        expect((failure as Error).message, tool).toContain('Invalid result for tools/call');
        if (era === 'legacy') expect((failure as Error).message, tool).toContain(problem);
      }
      // A bad result fails that call only: the server stays up and answers the next one.
      expect(upstream.state).toBe('ready');
      expect(text((await upstream.callTool('echo', { text: 'after' })).result)).toBe('after');
      expect(runtime.starts).toBe(1);
    }
  );

  it.each(['legacy', 'modern'] as const)(
    'fails a call at once when the %s-era server answers it with no valid JSON-RPC response',
    async era => {
      const runtime = new FakeRuntime();
      runtime.legacyOnly = era === 'legacy';
      // Written by hand in reply to the call's own id (the SDK's server would refuse to send them);
      // the handler then waits until the test ends: only the broken answer can end the call.
      const answers: Record<string, Record<string, unknown>> = {
        null_result: { result: null },
        list_result: { result: [] },
        codeless_error: { error: { message: 'no code' } }
      };
      runtime.customize = (server, process) => {
        for (const [name, answer] of Object.entries(answers)) {
          server.registerTool(name, { description: 'answers by hand' }, async ctx => {
            process.writeNoise(JSON.stringify({ jsonrpc: '2.0', id: ctx.mcpReq.id, ...answer }));
            await delay(60_000);
            return { content: [] };
          });
        }
      };
      const { upstream } = setup({ callTimeoutMs: 30_000 }, { runtime });
      const problems: Record<string, string> = {
        null_result: 'its result must be an object, not null',
        list_result: 'its result must be an object, not an array',
        codeless_error: 'its error code must be an integer'
      };
      for (const [tool, problem] of Object.entries(problems)) {
        const failure = await upstream.callTool(tool, {}).then(
          () => undefined,
          (error: unknown) => error
        );
        expect(failure, tool).toBeInstanceOf(Error);
        expect((failure as Error).message, tool).toContain(
          'server alpha answered this request with no valid JSON-RPC response'
        );
        expect((failure as Error).message, tool).toContain(problem);
      }
      // The server stays up and answers the next call.
      expect(upstream.state).toBe('ready');
      expect(text((await upstream.callTool('echo', { text: 'after' })).result)).toBe('after');
      expect(runtime.starts).toBe(1);
    }
  );

  it('logs an answer to a request nobody waits for, naming the server', async () => {
    const runtime = new FakeRuntime();
    runtime.customize = (server, process) => {
      server.registerTool('stray', { description: 'answers a request never sent, then its own' }, () => {
        process.writeNoise(JSON.stringify({ jsonrpc: '2.0', id: 987_654, result: { content: [] } }));
        return { content: [{ type: 'text', text: 'own answer' }] };
      });
    };
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const { upstream } = setup({}, { runtime, log });
    expect(text((await upstream.callTool('stray', {})).result)).toBe('own answer');
    await vi.waitFor(() =>
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 30,
          server: 'alpha',
          msg: expect.stringContaining('answered a request nobody waits for'),
          err: expect.stringContaining('987654')
        })
      )
    );
  });

  it('passes results through unchanged from a 2025-era server too', async () => {
    const { runtime, upstream } = setup();
    runtime.legacyOnly = true;
    expect((await upstream.callTool('rich', {})).result).toEqual(RICH_RESULT);
    expect(upstream.prior).toEqual({ kind: 'legacy' });
  });

  it("passes the server's own errors through", async () => {
    const { runtime, upstream } = setup();
    const unknown = upstream.callTool('no_such_tool', {});
    await expect(unknown).rejects.toBeInstanceOf(ProtocolError);
    await expect(unknown).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
      message: expect.stringContaining('no_such_tool')
    });
    const invalid = await upstream.callTool('echo', { text: 42 });
    expect(invalid.result.isError).toBe(true);
    expect(text(invalid.result)).toContain('Invalid arguments');
    expect(runtime.calls).toEqual([]);
    expect(upstream.state).toBe('ready');
  });

  it('waits for a slow stop before starting the next instance', async () => {
    const { runtime, upstream } = setup();
    runtime.stopDelayMs = 200;
    await upstream.callTool('echo', { text: 'x' });
    const stopping = upstream.stop('test');
    expect(upstream.state).toBe('stopping');
    const next = await upstream.callTool('whoami', {});
    expect(text(next.result)).toBe('alpha#2');
    expect(runtime.processes[0]!.running).toBe(false);
    await stopping;
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
  });

  it('rejects a call cancelled during a cold start without sending it to the server', async () => {
    const { runtime, upstream } = setup();
    runtime.startDelayMs = 300;
    const controller = new AbortController();
    const call = upstream.callTool('slow', { ms: 10_000, tag: 'early' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    await delay(100);
    expect(runtime.calls.filter(c => c.tool === 'slow')).toEqual([]);
  });

  it("passes the server's result through unchanged", async () => {
    const { upstream } = setup();
    const rich = await upstream.callTool('rich', {});
    expect(rich.result).toEqual(RICH_RESULT);

    const echo = await upstream.callTool('echo', { text: 'hello' });
    expect(echo.result).toEqual({
      content: [{ type: 'text', text: 'hello' }],
      structuredContent: { text: 'hello' },
      _meta: { fake: 'alpha' }
    });

    const fail = await upstream.callTool('fail', {});
    expect(fail.result).toEqual({
      content: [{ type: 'text', text: 'this tool always fails' }],
      isError: true
    });
  });

  it('carries on after non-JSON lines on stdout', async () => {
    const { runtime, upstream } = setup();
    runtime.noise = ['fake server starting (not JSON)', '{"not":"json-rpc"}', '[1,2,3]'];
    expect(text((await upstream.callTool('echo', { text: 'after banner' })).result)).toBe('after banner');
    expect(text((await upstream.callTool('noisy', {})).result)).toBe('still here');
    expect(text((await upstream.callTool('echo', { text: 'after junk' })).result)).toBe('after junk');
    expect(runtime.starts).toBe(1);
  });

  it('fails an in-flight call with server_exited when the server crashes, then restarts', async () => {
    const { runtime, upstream } = setup();
    await upstream.callTool('echo', { text: 'warm' });
    const began = performance.now();
    const crashing = upstream.callTool('crash', { afterMs: 20 });
    await expect(crashing).rejects.toBeInstanceOf(GatewayError);
    await expect(crashing).rejects.toMatchObject({
      code: 'server_exited',
      serverId: 'alpha',
      message: expect.stringContaining('alpha')
    });
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(runtime.processes[0]!.exit).toMatchObject({ requested: false });
    expect(upstream.status().lastError).toContain('exit code 1');

    const next = await upstream.callTool('whoami', {});
    expect(next.cold).toBe(true);
    expect(text(next.result)).toBe('alpha#2');
    expect(runtime.starts).toBe(2);
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
  });

  it('notices a crash while idle and starts a fresh instance for the next call', async () => {
    const { runtime, upstream } = setup();
    await upstream.callTool('echo', { text: 'warm' });
    runtime.crashAll('signal SIGKILL');
    await vi.waitFor(() => expect(upstream.state).toBe('stopped'), { timeout: 1_000 });
    const next = await upstream.callTool('whoami', {});
    expect(text(next.result)).toBe('alpha#2');
    expect(runtime.starts).toBe(2);
  });

  it('gives call_timeout when callTimeout expires, and the server sees the cancellation', async () => {
    const { runtime, upstream } = setup({ callTimeoutMs: 200 });
    const began = performance.now();
    await expect(upstream.callTool('slow', { ms: 10_000, tag: 'timed-out' })).rejects.toMatchObject({
      code: 'call_timeout',
      serverId: 'alpha'
    });
    expect(performance.now() - began).toBeLessThan(2_000);
    await vi.waitFor(() => expect(runtime.cancellations.map(c => c.tag)).toContain('timed-out'), {
      timeout: 1_000
    });
    // The server is still usable.
    expect(text((await upstream.callTool('echo', { text: 'still ok' })).result)).toBe('still ok');
    expect(runtime.starts).toBe(1);
  });

  it("gives cancelled when the caller's signal aborts, and the server sees the cancellation", async () => {
    const { runtime, upstream } = setup();
    await upstream.callTool('echo', { text: 'warm' });
    const controller = new AbortController();
    const call = upstream.callTool('slow', { ms: 10_000, tag: 'aborted' }, { signal: controller.signal });
    await vi.waitFor(() => expect(runtime.calls.some(c => c.tool === 'slow')).toBe(true));
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'cancelled', serverId: 'alpha' });
    await vi.waitFor(() => expect(runtime.cancellations.map(c => c.tag)).toContain('aborted'), {
      timeout: 1_000
    });
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
  });

  it('forwards request _meta and reports progress', async () => {
    const runtime = new FakeRuntime();
    let seenMeta: unknown;
    runtime.customize = server =>
      server.registerTool('progress', { description: 'Reports progress' }, async ctx => {
        seenMeta = ctx.mcpReq._meta;
        const token = ctx.mcpReq._meta?.progressToken;
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: 1, total: 2 }
          });
        }
        return { content: [{ type: 'text', text: 'done' }] };
      });
    const { upstream } = setup({}, { runtime });
    const progress: number[] = [];
    const outcome = await upstream.callTool(
      'progress',
      {},
      { meta: { 'example.com/request': 'r1' }, onprogress: p => progress.push(p.progress) }
    );
    expect(text(outcome.result)).toBe('done');
    expect(seenMeta).toMatchObject({ 'example.com/request': 'r1' });
    expect(progress).toEqual([1]);
  });
});

describe('Upstream idle timeout', () => {
  it('stops the server after idleTimeout with no calls', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 150 });
    await upstream.callTool('echo', { text: 'x' });
    const callEnded = performance.now();
    expect(runtime.running).toBe(1);
    await delay(50);
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
    await vi.waitFor(() => expect(upstream.state).toBe('stopped'), { timeout: 2_000, interval: 10 });
    expect(performance.now() - callEnded).toBeGreaterThanOrEqual(140);
    expect(runtime.running).toBe(0);
    expect(runtime.processes[0]!.exit).toMatchObject({ requested: true });
  });

  it('never stops the server while a call is in flight', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 100 });
    const slow = upstream.callTool('slow', { ms: 500 });
    await delay(350);
    expect(upstream.state).toBe('ready');
    expect(runtime.running).toBe(1);
    const outcome = await slow;
    expect(text(outcome.result)).toBe('slept 500');
    expect(runtime.running).toBe(1);
    await vi.waitFor(() => expect(runtime.running).toBe(0), { timeout: 2_000, interval: 10 });
    expect(upstream.state).toBe('stopped');
    expect(runtime.cancellations).toEqual([]);
  });

  it('restarts the idle timer after each call', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 200 });
    for (let i = 0; i < 4; i++) {
      await upstream.callTool('echo', { text: `${i}` });
      await delay(100);
    }
    expect(runtime.starts).toBe(1);
    expect(runtime.running).toBe(1);
  });

  it('never stops the server when idleTimeoutMs is 0', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    await upstream.callTool('echo', { text: 'x' });
    await delay(300);
    expect(upstream.state).toBe('ready');
    expect(runtime.running).toBe(1);
    expect(runtime.processes[0]!.stopCalls).toBe(0);
  });

  it('goes stopped → starting → ready → stopping → stopped', async () => {
    const { upstream } = setup({ idleTimeoutMs: 100 });
    const states: UpstreamState[] = [];
    const seen: Upstream[] = [];
    upstream.addListener({
      onState: (source, state) => {
        seen.push(source);
        states.push(state);
      }
    });
    expect(upstream.state).toBe('stopped');
    await upstream.callTool('echo', { text: 'x' });
    await vi.waitFor(() => expect(upstream.state).toBe('stopped'), { timeout: 2_000 });
    expect(states).toEqual(['starting', 'ready', 'stopping', 'stopped']);
    expect(new Set(seen)).toEqual(new Set([upstream]));
  });

  it('stops reporting to a removed listener', async () => {
    const { upstream } = setup();
    const states: UpstreamState[] = [];
    const remove = upstream.addListener({ onState: (_, state) => states.push(state) });
    await upstream.callTool('echo', { text: 'x' });
    remove();
    await upstream.stop('test');
    expect(states).toEqual(['starting', 'ready']);
  });
});

describe('Upstream close and discover', () => {
  it('close() stops the server and later calls are refused', async () => {
    const { runtime, upstream } = setup();
    await upstream.callTool('echo', { text: 'x' });
    expect(runtime.running).toBe(1);
    await upstream.close();
    expect(runtime.running).toBe(0);
    expect(upstream.state).toBe('stopped');
    await expect(upstream.callTool('echo', { text: 'y' })).rejects.toMatchObject({
      code: 'server_unavailable',
      serverId: 'alpha'
    });
    expect(runtime.starts).toBe(1);
  });

  it('close() during a slow process start aborts it and leaves nothing running', async () => {
    const { runtime, upstream } = setup();
    runtime.startDelayMs = 5_000;
    const call = upstream.callTool('echo', { text: 'x' });
    call.catch(() => undefined);
    await delay(50);
    const began = performance.now();
    await upstream.close();
    expect(performance.now() - began).toBeLessThan(1_000);
    await expect(call).rejects.toBeInstanceOf(GatewayError);
    expect(runtime.running).toBe(0);
    expect(runtime.processes).toHaveLength(0);
  });

  it('close() during an unanswered handshake returns promptly and leaves nothing running', async () => {
    const { runtime, upstream } = setup({}, { startTimeoutMs: 3_000 });
    runtime.silent = true;
    const call = upstream.callTool('echo', { text: 'x' });
    call.catch(() => undefined);
    await vi.waitFor(() => expect(runtime.processes).toHaveLength(1));
    const began = performance.now();
    await upstream.close();
    // close() "aborts a start in progress"; the handshake is part of the start.
    expect(performance.now() - began).toBeLessThan(1_000);
    await expect(call).rejects.toBeInstanceOf(GatewayError);
    expect(runtime.running).toBe(0);
  });

  it('discover() on a stopped server lists tools, reports them and stops the server again', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    const reported: { names: string[]; era: string }[] = [];
    upstream.addListener({
      onListed: (source, kind, items, era) => {
        expect(source).toBe(upstream);
        if (kind === 'tools') reported.push({ names: items.map(t => t.name).sort(), era: era.kind });
      }
    });
    const { tools } = await upstream.discover();
    expect(tools.map(t => t.name).sort()).toEqual([...FAKE_TOOLS].sort());
    expect(tools.find(t => t.name === 'echo')).toMatchObject({
      description: 'Returns its text',
      annotations: { readOnlyHint: true },
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } }
    });
    expect(reported.length).toBeGreaterThanOrEqual(1);
    expect(reported[0]).toEqual({ names: [...FAKE_TOOLS].sort(), era: 'modern' });
    expect(runtime.starts).toBe(1);
    expect(runtime.running).toBe(0);
    expect(upstream.state).toBe('stopped');
  });

  it('discover() on a running server leaves it running', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    await upstream.callTool('echo', { text: 'x' });
    runtime.tools = ['echo'];
    const { tools } = await upstream.discover();
    expect(tools.map(t => t.name).sort()).toEqual([...FAKE_TOOLS].sort());
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
  });

  it('discover() leaves running a server that a call used while it was discovering', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    runtime.startDelayMs = 100;
    const discovery = upstream.discover();
    const call = upstream.callTool('echo', { text: 'joined the start' });
    await expect(call).resolves.toMatchObject({ cold: true });
    await discovery;
    expect(runtime.starts).toBe(1);
    expect(runtime.running).toBe(1);
    expect(upstream.state).toBe('ready');
  });

  it('reports the new tools after a restart', async () => {
    const { runtime, upstream } = setup();
    const lists: string[][] = [];
    upstream.addListener({
      onListed: (_, kind, items) => kind === 'tools' && lists.push(items.map(t => t.name).sort())
    });
    await upstream.callTool('echo', { text: 'x' });
    await vi.waitFor(() => expect(lists).toHaveLength(1));
    await upstream.stop('test');
    runtime.tools = ['echo', 'whoami'];
    await upstream.callTool('echo', { text: 'x' });
    await vi.waitFor(() => expect(lists).toHaveLength(2));
    expect(lists[1]).toEqual(['echo', 'whoami']);
  });
});

describe('Upstream tool list changes', () => {
  for (const era of ['modern', 'legacy'] as const) {
    it(`reports the tools again after notifications/tools/list_changed (${era} era)`, async () => {
      const runtime = new FakeRuntime();
      runtime.legacyOnly = era === 'legacy';
      runtime.customize = server =>
        server.registerTool('add_tool', { description: 'Adds a tool' }, () => {
          server.registerTool('added', { description: 'Added at run time' }, () => ({ content: [] }));
          return { content: [{ type: 'text', text: 'added' }] };
        });
      const { upstream } = setup({}, { runtime });
      const lists: string[][] = [];
      upstream.addListener({
        onListed: (_, kind, items) => kind === 'tools' && lists.push(items.map(t => t.name))
      });
      await upstream.callTool('echo', { text: 'x' });
      await vi.waitFor(() => expect(lists).toHaveLength(1));
      expect(upstream.prior?.kind).toBe(era);
      expect(lists[0]).not.toContain('added');
      await upstream.callTool('add_tool', {});
      await vi.waitFor(() => expect(lists.at(-1)).toContain('added'), { timeout: 2_000 });
    });
  }
});

describe('FakeRuntime', () => {
  it('stop() ends the streams, resolves exited as requested and is idempotent', async () => {
    const runtime = new FakeRuntime();
    const process = await runtime.start(fakeSpec('beta'), () => {}, new AbortController().signal);
    let ended = false;
    process.stdout.on('end', () => (ended = true)).resume();
    expect(runtime.running).toBe(1);
    await Promise.all([process.stop(), process.stop()]);
    await process.stop();
    await expect(process.exited).resolves.toEqual({ reason: 'stopped', requested: true });
    await vi.waitFor(() => expect(ended).toBe(true));
    expect(process.stdin.writableEnded).toBe(true);
    expect(runtime.running).toBe(0);
    expect(runtime.exits).toHaveLength(1);
  });

  it('a crash resolves exited as not requested, and a later stop() keeps that', async () => {
    const runtime = new FakeRuntime();
    const process = await runtime.start(fakeSpec('beta'), () => {}, new AbortController().signal);
    runtime.crashAll('exit code 7');
    await process.stop();
    await expect(process.exited).resolves.toEqual({ reason: 'exit code 7', requested: false });
  });
});

/** The error `promise` rejects with (fails the test when it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error & { code?: unknown }
  );
}

describe('Upstream connection ends (issue 14, item 1)', () => {
  it('counts the end of stdout as the exit when no exit status comes, and starts anew', async () => {
    // An engine killed under a container: the attach stream ends, the exit is never reported.
    const { runtime, upstream } = setup();
    runtime.exitNeverSeen = true;
    await upstream.callTool('echo', { text: 'warm' });
    const began = performance.now();
    const failure = await failureOf(upstream.callTool('crash', { afterMs: 20 }));
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ code: 'server_exited', serverId: 'alpha' });
    expect(failure.message).toContain('server alpha exited (its stdout closed');
    expect(failure.message).not.toContain('Not connected');
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(upstream.state).toBe('stopped');

    const next = await upstream.callTool('whoami', {});
    expect(next.cold).toBe(true);
    expect(text(next.result)).toBe('alpha#2');
    expect(runtime.starts).toBe(2);
    expect(upstream.state).toBe('ready');
  });

  it('notices an idle server whose stdout ended without an exit, and starts anew for the next call', async () => {
    const { runtime, upstream } = setup({ idleTimeoutMs: 0 });
    runtime.exitNeverSeen = true;
    await upstream.callTool('echo', { text: 'warm' });
    runtime.crashAll();
    await vi.waitFor(() => expect(upstream.state).toBe('stopped'), { timeout: 1_000 });
    expect(upstream.status().lastError).toContain('stdout closed');
    expect(text((await upstream.callTool('whoami', {})).result)).toBe('alpha#2');
  });
});

describe('Upstream crash backoff (issue 14, item 4)', () => {
  it('marks a server that crashes after every start failed after 3 crashes in a minute, and says so', async () => {
    const { runtime, upstream } = setup();
    for (let i = 1; i <= 2; i++) {
      const failure = await failureOf(upstream.callTool('crash', { afterMs: 10 }));
      expect(failure).toMatchObject({ code: 'server_exited' });
      expect(failure.message).toContain('the next call starts it again');
      expect(upstream.state).toBe('stopped');
    }
    const third = await failureOf(upstream.callTool('crash', { afterMs: 10 }));
    expect(third).toMatchObject({ code: 'server_exited', serverId: 'alpha' });
    expect(third.message).toContain('crashed 3 times in a minute, so it is marked failed until');
    expect(upstream.state).toBe('failed');
    expect(runtime.starts).toBe(3);

    const began = performance.now();
    const refused = await failureOf(upstream.callTool('echo', { text: 'x' }));
    expect(refused).toMatchObject({ code: 'server_unavailable', serverId: 'alpha' });
    expect(refused.message).toContain('server alpha crashed 3 times in a minute; next try after');
    expect(refused.message).toContain('exit code 1');
    // At once: no start tried (a start would be counted); the bound only leaves room for a loaded machine.
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(runtime.starts).toBe(3);
  });

  it('counts failed starts and crashes together; a start that works clears only the failed starts', async () => {
    const { runtime, upstream } = setup();
    await expect(upstream.callTool('crash', { afterMs: 10 })).rejects.toMatchObject({
      code: 'server_exited'
    });
    runtime.failStarts = 2;
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('stopped');
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({ code: 'start_failed' });
    expect(upstream.state).toBe('failed');
    await expect(upstream.callTool('echo', { text: 'x' })).rejects.toMatchObject({
      code: 'server_unavailable',
      message: expect.stringContaining('failed to start 2 times and crashed 1 time in a minute')
    });
  });

  it('does not count a lost container engine as a crash', async () => {
    const { runtime, upstream } = setup();
    for (let i = 1; i <= 4; i++) {
      await upstream.callTool('echo', { text: `${i}` });
      runtime.processes.at(-1)!.crash('lost contact with the Docker engine: its output stream ended', true);
      await vi.waitFor(() => expect(upstream.state).toBe('stopped'));
    }
    expect(text((await upstream.callTool('echo', { text: 'after' })).result)).toBe('after');
    expect(upstream.state).toBe('ready');
    expect(runtime.starts).toBe(5);
  });

  it('does not count requested stops', async () => {
    const { runtime, upstream } = setup();
    for (let i = 0; i < 4; i++) {
      await upstream.callTool('echo', { text: `${i}` });
      await upstream.stop('test');
    }
    expect(upstream.state).toBe('stopped');
    expect(runtime.starts).toBe(4);
  });
});

describe('Upstream line limit (issue 14, item 5)', () => {
  function bigAnswerRuntime(bytes: number) {
    const runtime = new FakeRuntime();
    runtime.customize = (server, process) =>
      server.registerTool('big', { description: 'Answers with one over-long line' }, async ctx => {
        // Written by hand, so that it really is one line of `bytes` bytes.
        const line = JSON.stringify({
          jsonrpc: '2.0',
          id: ctx.mcpReq.id,
          result: { content: [{ type: 'text', text: 'x'.repeat(bytes) }] }
        });
        // In two writes, the second without its newline yet: the limit trips on a partial line.
        process.stdout.write(line.slice(0, bytes / 2));
        await delay(20);
        process.stdout.write(`${line.slice(bytes / 2)}\n`);
        await delay(60_000);
        return { content: [] };
      });
    return runtime;
  }

  it('fails the calls waiting on the server at once, and reads the next answer whole', async () => {
    const { runtime, upstream } = setup(
      { callTimeoutMs: 10_000 },
      { runtime: bigAnswerRuntime(8_192), maxLineBytes: 4_096 }
    );
    await upstream.callTool('echo', { text: 'warm' });
    const began = performance.now();
    const waiting = upstream.callTool('slow', { ms: 5_000, tag: 'bystander' });
    const failure = await failureOf(upstream.callTool('big', {}));
    expect(performance.now() - began).toBeLessThan(2_000);
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ code: 'message_too_large', serverId: 'alpha' });
    expect(failure.message).toContain('server alpha wrote a line of more than 4 KiB on stdout');
    expect(failure.message).toContain('2 call(s) waiting on the server failed');
    await expect(waiting).rejects.toMatchObject({ code: 'message_too_large' });

    // The rest of the long line is skipped, not taken for the start of the next answer.
    expect(text((await upstream.callTool('echo', { text: 'after' })).result)).toBe('after');
    expect(upstream.state).toBe('ready');
    expect(runtime.starts).toBe(1);
  });
});

describe('Upstream line limit for listings', () => {
  it('fails a tools/list waiting on the server at once too', async () => {
    const { runtime, upstream } = setup({}, { maxLineBytes: 4_096 });
    await upstream.callTool('echo', { text: 'warm' });
    const server = runtime.processes[0]!;
    // Noise with no newline ahead of the answer to the next tools/list: one over-long line that
    // swallows the answer.
    server.stdin.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('"tools/list"')) server.stdout.write('x'.repeat(8_192));
    });
    const began = performance.now();
    const listing = Promise.race([upstream.discover(), delay(3_000).then(() => 'still waiting')]);
    await expect(listing).rejects.toMatchObject({ code: 'message_too_large', serverId: 'alpha' });
    expect(performance.now() - began).toBeLessThan(2_000);
  });
});

describe('Upstream queue and callTimeout (issue 14, item 10)', () => {
  it('bounds the wait for a slot by callTimeout and says the queue ran out', async () => {
    // The one slot is held by a call paying a long cold start (bounded by startTimeout, not callTimeout).
    const { runtime, upstream } = setup({ maxConcurrency: 1, callTimeoutMs: 400 });
    runtime.startDelayMs = 1_500;
    const first = upstream.callTool('echo', { text: 'first' });
    const began = performance.now();
    const failure = await failureOf(upstream.callTool('echo', { text: 'queued' }));
    const elapsed = performance.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1_400); // not the 1.5 s the slot's holder takes to start
    expect(failure).toMatchObject({ code: 'call_timeout', serverId: 'alpha' });
    expect(failure.message).toContain(
      'waited 0.4s (its callTimeout) for a free slot behind 1 calls in flight'
    );
    expect(failure.message).toContain('never sent');
    expect(text((await first).result)).toBe('first');
    expect(runtime.calls.map(call => call.args)).toEqual([{ text: 'first' }]);
  });

  it('counts the time in the queue toward callTimeout, and says how much of it was queue', async () => {
    const { runtime, upstream } = setup({ maxConcurrency: 1, callTimeoutMs: 2_000 });
    await upstream.callTool('echo', { text: 'warm' });
    const first = upstream.callTool('slow', { ms: 1_000, tag: 'first' });
    const began = performance.now();
    // Would finish 2.5 s after it was made: 1 s in the queue, 1.5 s running.
    const failure = await failureOf(upstream.callTool('slow', { ms: 1_500, tag: 'second' }));
    const elapsed = performance.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(3_000); // generous: a call that finished would not fail at all
    expect(failure).toMatchObject({ code: 'call_timeout', serverId: 'alpha' });
    expect(failure.message).toMatch(
      /did not finish within 2s \(callTimeout\), \d+\.\ds of which it waited for a free slot/
    );
    expect(text((await first).result)).toBe('slept 1000');
    await vi.waitFor(() => expect(runtime.cancellations.map(c => c.tag)).toContain('second'));
  });
});

describe('Upstream start timeout (issue 14, item 11)', () => {
  it('gives a server slow to answer its first message all of startTimeout, past 5 s', async () => {
    const { runtime, upstream } = setup({}, { startTimeoutMs: 8_000 });
    runtime.serveDelayMs = 5_500;
    const outcome = await upstream.callTool('echo', { text: 'slow start' });
    expect(text(outcome.result)).toBe('slow start');
    expect(outcome.cold).toBe(true);
    expect(outcome.startMs).toBeGreaterThanOrEqual(5_400);
    expect(upstream.prior?.kind).toBe('modern');
    expect(runtime.starts).toBe(1);
  }, 15_000);

  it('starts a server that silently ignores the era probe, as a 2025-era one', async () => {
    const { runtime, upstream } = setup({}, { startTimeoutMs: 1_000 });
    runtime.legacyOnly = true;
    runtime.ignoreProbe = true;
    const outcome = await upstream.callTool('echo', { text: 'ignored the probe' });
    expect(text(outcome.result)).toBe('ignored the probe');
    expect(upstream.prior?.kind).toBe('legacy');
    expect(runtime.processes[0]!.methods.slice(0, 2)).toEqual(['server/discover', 'initialize']);
  }, 15_000);
});

describe('Upstream smaller inaccuracies (issue 14, item 23)', () => {
  it('counts restarts, not starts', async () => {
    const { upstream } = setup();
    expect(upstream.status().restarts).toBe(0);
    await upstream.callTool('echo', { text: 'x' });
    expect(upstream.status().restarts).toBe(0);
    await upstream.stop('test');
    await upstream.callTool('echo', { text: 'y' });
    expect(upstream.status().restarts).toBe(1);
  });

  it('marks a failing call that paid a start as cold', async () => {
    const { runtime, upstream } = setup();
    runtime.startDelayMs = 50;
    runtime.failStarts = 1;
    const startFailed = await failureOf(upstream.callTool('echo', { text: 'x' }));
    expect(coldStartOf(startFailed).cold).toBe(true);
    expect(coldStartOf(startFailed).startMs).toBeGreaterThanOrEqual(40);

    await upstream.stop('test');
    const serverError = await failureOf(upstream.callTool('no_such_tool', {}));
    expect(serverError).toBeInstanceOf(ProtocolError);
    expect(coldStartOf(serverError).cold).toBe(true);

    const warmError = await failureOf(upstream.callTool('no_such_tool', {}));
    expect(coldStartOf(warmError)).toEqual({ cold: false, startMs: 0 });
  });
});

describe('Upstream retry of a request that never reached the server (issue 12, item 1)', () => {
  /** An upstream over a connector whose links refuse sends as `refuse` says. */
  function refusing(refuse: ConstructorParameters<typeof RefusingConnector>[1]) {
    const runtime = new FakeRuntime();
    const spec = fakeSpec('alpha');
    const connector = new RefusingConnector(fakeConnector(spec, runtime), refuse);
    const upstream = new Upstream({ spec, connector, identity, log: silentLog, startTimeoutMs: 5_000 });
    cleanups.push(() => runtime.stopAll());
    cleanups.push(() => upstream.close());
    return { runtime, connector, upstream };
  }
  const isCall = (message: object) => 'method' in message && message.method === 'tools/call';

  it("asks a caller not handed input_required the server's questions by its own asker; a cold first round makes the call cold", async () => {
    const runtime = askingRuntime();
    const { upstream } = setup({}, { runtime });
    const asked: string[] = [];
    const asker: ClientAsker = {
      owner: 'alice',
      capabilities: { roots: {} },
      ask: request => {
        asked.push(request.method);
        return Promise.resolve({ roots: [{ uri: 'file:///home/alice', name: 'alice' }] });
      }
    };
    const outcome = await upstream.callTool('ask', {}, { asker });
    expect(JSON.parse(text(outcome.result))).toEqual({
      roots: [{ uri: 'file:///home/alice', name: 'alice' }]
    });
    expect(asked).toEqual(['roots/list']);
    expect(outcome.cold).toBe(true);
    expect(outcome.startMs).toBeGreaterThan(0);
  });

  it('holds the server across the rounds: an idle timeout shorter than the answer does not stop it', async () => {
    const runtime = askingRuntime();
    const { upstream } = setup({ idleTimeoutMs: 50 }, { runtime });
    const inFlightWhileAsked: number[] = [];
    const asker: ClientAsker = {
      owner: 'alice',
      capabilities: { roots: {} },
      ask: async () => {
        inFlightWhileAsked.push(upstream.status().inFlight);
        await delay(300); // a person answering, longer than idleTimeout
        return { roots: [] };
      }
    };
    const outcome = await upstream.callTool('ask', {}, { asker });
    expect(JSON.parse(text(outcome.result))).toEqual({ roots: [] });
    expect(runtime.starts).toBe(1);
    // One request, counted once: the shutdown drain and /healthz read this count.
    expect(inFlightWhileAsked).toEqual([1]);
    expect(upstream.status().inFlight).toBe(0);
  });

  it('counts a request whose later round waits for a slot as in flight', async () => {
    const runtime = askingRuntime();
    const { upstream } = setup({ maxConcurrency: 1 }, { runtime });
    let slow: Promise<unknown> | undefined;
    const asker: ClientAsker = {
      owner: 'alice',
      capabilities: { roots: {} },
      ask: async () => {
        // Another call takes the only slot before the answer comes back.
        slow = upstream.callTool('slow', { ms: 400 });
        await delay(50);
        return { roots: [] };
      }
    };
    const call = upstream.callTool('ask', {}, { asker });
    await delay(250); // the answer is in; the second round waits for the slow call's slot
    expect(upstream.status().inFlight).toBe(2);
    await call;
    await slow;
    expect(upstream.status().inFlight).toBe(0);
  });

  it('counts a call by a caller with an asker once while its round runs', async () => {
    const { upstream } = setup();
    const asker: ClientAsker = {
      owner: 'alice',
      capabilities: {},
      ask: () => Promise.reject(new Error('unasked'))
    };
    const call = upstream.callTool('slow', { ms: 200 }, { asker });
    await delay(100);
    expect(upstream.status().inFlight).toBe(1);
    await call;
    expect(upstream.status().inFlight).toBe(0);
  });

  it('fails a request cancelled while its caller is asked as cancelled, and cold when a round started the server', async () => {
    const runtime = askingRuntime();
    const { upstream } = setup({}, { runtime });
    const cancel = new AbortController();
    const asker: ClientAsker = {
      owner: 'alice',
      capabilities: { roots: {} },
      ask: (_request, { signal }) => {
        setTimeout(() => cancel.abort(new Error('changed my mind')), 20);
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error))
        );
      }
    };
    const error = await upstream
      .callTool('ask', {}, { asker, signal: cancel.signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'cancelled', serverId: 'alpha' });
    expect(coldStartOf(error).cold).toBe(true);
  });

  it('sends a call whose send was undelivered once more, on a new connection', async () => {
    const { runtime, connector, upstream } = refusing((message, link) =>
      link === 1 && isCall(message) ? new UndeliveredError('the connection was gone') : undefined
    );
    const outcome = await upstream.callTool('echo', { text: 'again' });
    expect(text(outcome.result)).toBe('again');
    expect(outcome.cold).toBe(true);
    expect(connector.refused).toEqual([{ link: 1, method: 'tools/call' }]);
    expect(runtime.starts).toBe(2);
    // The server ran it once, on the second connection; the first was closed as asked, no crash.
    expect(runtime.calls.map(call => [call.tool, call.instance])).toEqual([['echo', 2]]);
    expect(runtime.processes[0]!.exit).toMatchObject({ requested: true });
    expect(upstream.state).toBe('ready');
    expect(upstream.status().lastError).toBeNull();
  });

  it('retries a warm call the same way, and the next call uses the new connection', async () => {
    let refuseNext = false;
    const { runtime, connector, upstream } = refusing(message => {
      if (!refuseNext || !isCall(message)) return undefined;
      refuseNext = false;
      return new UndeliveredError('remote session expired (404)');
    });
    await upstream.callTool('whoami', {});
    refuseNext = true;
    const outcome = await upstream.callTool('whoami', {});
    expect(text(outcome.result)).toBe('alpha#2');
    expect(connector.refused).toEqual([{ link: 1, method: 'tools/call' }]);
    expect(text((await upstream.callTool('whoami', {})).result)).toBe('alpha#2');
    expect(runtime.starts).toBe(2);
  });

  it('does not retry a second time: the call fails naming the server', async () => {
    const { runtime, connector, upstream } = refusing(message =>
      isCall(message) ? new UndeliveredError('connect ECONNREFUSED 127.0.0.1:9') : undefined
    );
    const failure = await failureOf(upstream.callTool('echo', { text: 'never' }));
    expect(failure).toMatchObject({ code: 'server_unavailable', serverId: 'alpha' });
    expect(failure.message).toContain('could not be sent to server alpha');
    expect(failure.message).toContain('ECONNREFUSED');
    expect(connector.refused).toEqual([
      { link: 1, method: 'tools/call' },
      { link: 2, method: 'tools/call' }
    ]);
    expect(runtime.starts).toBe(2);
    expect(runtime.calls).toEqual([]);
  });

  it('does not retry any other failure of a send (it may have reached the server)', async () => {
    const { runtime, connector, upstream } = refusing((message, link) =>
      link === 1 && isCall(message) ? new Error('socket hang up') : undefined
    );
    const failure = await failureOf(upstream.callTool('echo', { text: 'once' }));
    expect(failure.message).toContain('socket hang up');
    expect(connector.refused).toHaveLength(1);
    expect(runtime.starts).toBe(1);
    expect(connector.links).toHaveLength(1);
  });
});
