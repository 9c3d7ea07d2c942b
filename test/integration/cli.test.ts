import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, connect, FIXTURE_SERVER, GatewayProcess, textOf } from '../support/gateway-process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], config: string, env: Record<string, string> = {}) {
  const file = path.join(dir, `servers-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const result = spawnSync(
    process.execPath,
    [CLI, ...args, '--config', file, '--state-dir', path.join(dir, 'data')],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 20_000
    }
  );
  return { ...result, file };
}

describe('mcp-gateway validate', () => {
  it('exits 0 with one summary line per server', () => {
    const result = run(
      ['validate'],
      `
servers:
  time:
    image: mcp/time:latest
    idleTimeout: 600
  local:
    command: ["node", "server.js"]
    namespace: ""
  off:
    command: ["x"]
    enabled: false
`
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('time: docker mcp/time:latest; tools time__*; idle 600s');
    expect(result.stdout).toContain('local: process node server.js; tools (no prefix)');
    expect(result.stdout).toContain('off: disabled');
  });

  it('exits 1 and prints every problem as file:line:col: message', () => {
    const result = run(
      ['validate'],
      `servers:
  Bad_Id:
    command: ["x"]
  neither:
    description: no image or command
  typo:
    command: ["x"]
    idleTimout: 5
`
    );
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.every(line => line.startsWith(`${result.file}:`))).toBe(true);
    expect(result.stderr).toMatch(/:2:3: .*server id/);
    expect(result.stderr).toMatch(/:5:5: .*needs `image`.*or `command`/);
    expect(result.stderr).toMatch(/:8:5: .*unknown key "idleTimout"/);
  });

  it('reports a duplicate server id', () => {
    const result = run(['validate'], `servers:\n  a:\n    command: ["x"]\n  a:\n    command: ["y"]\n`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/:4:3: duplicate key: a server id or setting appears twice/);
  });
});

describe('mcp-gateway serve', () => {
  it('refuses to start on an invalid config, saying where', () => {
    const result = run(['serve', '--port', '0'], `servers:\n  x:\n    command: "not a list"\n`);
    expect(result.status).toBe(78); // EX_CONFIG: systemd does not restart it
    expect(result.stderr).toMatch(
      /servers-\w+\.yaml:3:14: servers\.x\.command: command must be a list of strings/
    );
  });

  it('rejects a bad flag value with a one-line message', () => {
    const result = run(['serve', '--port', 'eighty'], `servers: {}\n`);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('port must be a number');
  });

  it('an unset ${VAR} makes only that server unavailable, with a warning and a clear error per call', async () => {
    const gateway = await GatewayProcess.start(`
servers:
  needs-key:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env: { API_KEY: "\${MCP_GATEWAY_TEST_UNSET_KEY}" }
  fine:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`);
    try {
      await gateway.waitForLog(line => String(line.msg).includes('MCP_GATEWAY_TEST_UNSET_KEY not set'));
      const client = await connect(gateway.url, 'legacy');
      await expect(
        client.callTool({ name: 'needs-key__echo', arguments: { text: 'x' } })
      ).rejects.toMatchObject({
        message: 'server needs-key is unavailable: environment variable MCP_GATEWAY_TEST_UNSET_KEY not set'
      });
      const fine = await client.callTool({ name: 'fine__echo', arguments: { text: 'works' } });
      expect(textOf(fine)).toBe('works');
      await client.close();
    } finally {
      await gateway.dispose();
    }
  });

  it('flags beat the environment', async () => {
    const gateway = await GatewayProcess.start('servers: {}\n', { env: { GATEWAY_PORT: '1' } });
    try {
      // GatewayProcess passes --port 0, which must win over GATEWAY_PORT=1 (a port it could not bind).
      expect(gateway.url.port).not.toBe('1');
      const health = await gateway.health();
      expect(health).toMatchObject({ status: 'ok', version: '0.1.0' });
    } finally {
      await gateway.dispose();
    }
  });
});
