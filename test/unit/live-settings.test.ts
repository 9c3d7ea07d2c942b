import { describe, expect, it } from 'vitest';
import { liveChanges } from '../../src/config/live-settings.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { ServerSpec } from '../../src/config/server-spec.js';

/** The one server of `servers:` text, as the gateway loads it. */
function loaded(servers: string): ServerSpec {
  const result = parseConfig(`gateway:\n  auth: { mode: token }\nservers:\n${servers}`, 'servers.yaml', {
    env: {}
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config.servers[0]!;
}

describe('liveChanges', () => {
  it('names the live settings that differ between two loads of a server, and nothing else', () => {
    const before = loaded('  box:\n    image: example/box:1\n    description: old\n    idleTimeout: 60\n');
    const after = loaded(
      '  box:\n    image: example/box:1\n    description: new\n    idleTimeout: 120\n    callTimeout: 30\n    maxConcurrency: 2\n'
    );
    expect(liveChanges(before, after)).toEqual([
      'description',
      'idleTimeoutMs',
      'callTimeoutMs',
      'maxConcurrency'
    ]);
    expect(liveChanges(before, before)).toEqual([]);
  });

  it('is undefined when anything else changes with them: the server is replaced', () => {
    const before = loaded('  box:\n    image: example/box:1\n');
    for (const after of [
      '  box:\n    image: example/box:2\n    description: new\n',
      '  box:\n    image: example/box:1\n    env: { MODE: fast }\n',
      '  box:\n    image: example/box:1\n    namespace: boxes\n',
      '  box:\n    image: example/box:1\n    tools: { deny: [write_*] }\n',
      '  box:\n    image: example/box:1\n    memory: 1g\n'
    ]) {
      expect(liveChanges(before, loaded(after)), after).toBeUndefined();
    }
  });

  it('updates a remote server with shared credentials, never one with per-user credentials', () => {
    const remote = (description: string, credentials: string) =>
      loaded(
        `  docs:\n    url: https://docs.example/mcp\n    description: ${description}\n    auth: oauth\n    credentials: ${credentials}\n`
      );
    expect(liveChanges(remote('old', 'shared'), remote('new', 'shared'))).toEqual(['description']);
    expect(liveChanges(remote('old', 'per-user'), remote('new', 'per-user'))).toBeUndefined();
  });
});
