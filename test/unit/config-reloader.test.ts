import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigReloader } from '../../src/config-reloader.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { UpstreamRegistry } from '../../src/upstream/upstream-registry.js';
import type { ProcessSpec } from '../../src/config/server-spec.js';
import { FakeRuntime, fakeUpstream, silentLog } from '../support/fake-runtime.js';

describe('ConfigReloader', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'config-reloader-'));
    file = path.join(dir, 'servers.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function reloaderFor(text: string): Promise<ConfigReloader> {
    writeFileSync(file, text);
    const loaded = await loadConfigFile(file, { env: {} });
    if (!loaded.ok) throw new Error('the test config is bad');
    return new ConfigReloader({
      file,
      load: { env: {} },
      running: loaded.config,
      registry: UpstreamRegistry.fixed([], []),
      log: silentLog
    });
  }

  it('runs reloads one at a time: those asked for while one runs wait, and share the next', async () => {
    const reloader = await reloaderFor('servers: {}\n');
    // Asked for together before it starts: one reload serves both.
    const first = reloader.reload('api');
    expect(reloader.reload('signal')).toBe(first);
    // Once it runs (its turn came a microtask later), new requests queue behind it, together.
    await Promise.resolve();
    await Promise.resolve();
    const second = reloader.reload('signal');
    const third = reloader.reload('file');
    expect(third).toBe(second);
    expect(second).not.toBe(first);
    const [firstResult, secondResult] = await Promise.all([first, second]);
    expect(firstResult.trigger).toBe('api');
    expect(secondResult.trigger).toBe('signal');
    expect(Date.parse(secondResult.at)).toBeGreaterThanOrEqual(Date.parse(firstResult.at));
    expect(reloader.last).toBe(secondResult);
  });

  it('tells the registry of a reload that changes nothing, so the servers kept hear of it', async () => {
    writeFileSync(file, 'servers:\n  a: { command: [node, a.js] }\n');
    const loaded = await loadConfigFile(file, { env: {} });
    if (!loaded.ok) throw new Error('the test config is bad');
    const runtime = new FakeRuntime();
    const registry = new UpstreamRegistry({
      create: spec => ({ upstream: fakeUpstream(spec as ProcessSpec, runtime), perUser: undefined }),
      drainMs: 1_000,
      log: silentLog
    });
    registry.apply(loaded.config.servers);
    const kept: string[] = [];
    registry.subscribe({ onKept: ({ upstream }) => kept.push(upstream.id) });
    const reloader = new ConfigReloader({
      file,
      load: { env: {} },
      running: loaded.config,
      registry,
      log: silentLog
    });
    const result = await reloader.reload('signal');
    expect(result.unchanged).toEqual(['a']);
    expect(kept).toEqual(['a']);
    await registry.close();
  });

  it('names each setting that needs a restart by its path, and applies the rest', async () => {
    const reloader = await reloaderFor('gateway:\n  port: 8000\nservers: {}\n');
    writeFileSync(
      file,
      'gateway:\n  port: 9000\n  auth:\n    mode: token\nhistory:\n  retentionDays: 3\ndefaults:\n  startTimeout: 5\n  callTimeout: 7\nservers: {}\n'
    );
    const result = await reloader.reload('api');
    expect(result.ok).toBe(true);
    expect([...result.restartNeeded].sort()).toEqual(
      ['defaults.startTimeout', 'gateway.auth.mode', 'gateway.port', 'history.retentionDays'].sort()
    );
    // Until the restart, the next reload still says so; changed back, nothing is pending.
    expect([...(await reloader.reload('api')).restartNeeded].sort()).toEqual(
      ['defaults.startTimeout', 'gateway.auth.mode', 'gateway.port', 'history.retentionDays'].sort()
    );
    writeFileSync(file, 'gateway:\n  port: 8000\nservers: {}\n');
    expect((await reloader.reload('api')).restartNeeded).toEqual([]);
  });

  it('says which profiles a reload added, removed and changed', async () => {
    // Servers disabled: the profiles name them, and the registry has nothing to start.
    const servers =
      'servers:\n  a: { command: [node, a.js], enabled: false }\n  b: { command: [node, b.js], enabled: false }\n';
    const reloader = await reloaderFor(
      `profiles:\n  dev: { servers: [a] }\n  ops: { servers: [a] }\n${servers}`
    );
    writeFileSync(file, `profiles:\n  dev: { servers: [b] }\n  research: { servers: [a] }\n${servers}`);
    const result = await reloader.reload('api');
    expect(result.ok, result.problems.join('\n')).toBe(true);
    expect(result.profiles).toEqual({ added: ['research'], removed: ['ops'], changed: ['dev'] });
    expect((await reloader.reload('api')).profiles).toEqual({ added: [], removed: [], changed: [] });
  });

  it('refuses a config with problems, keeping the running one', async () => {
    const reloader = await reloaderFor('servers: {}\n');
    writeFileSync(file, 'servers:\n  bad: {}\n');
    const result = await reloader.reload('api');
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `)
    );
  });
});
