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
  docs:
    url: https://mcp.example.com/mcp
    headers: { Authorization: "Bearer secret-token" }
`
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('docs: remote https://mcp.example.com/mcp; tools docs__*');
    expect(result.stdout).not.toContain('secret-token');
    expect(result.stdout).toContain('time: docker mcp/time:latest; tools time__*; idle 600s');
    expect(result.stdout).toContain('local: process node server.js; tools (no prefix)');
    expect(result.stdout).toContain('off: disabled');
  });

  it('warns of a local command that is not installed here, and still exits 0', () => {
    writeFileSync(path.join(dir, 'plain-file.txt'), 'not a program\n');
    const result = run(
      ['validate'],
      `servers:
  missing:
    command: ["definitely-not-installed-mcp", "--stdio"]
  relative:
    command: ["./no-such-server"]
  plain:
    command: ["${path.join(dir, 'plain-file.txt')}"]
  nowhere:
    command: ["${process.execPath}", "server.js"]
    cwd: ./no-such-dir
  found:
    command: ["${process.execPath}", "server.js"]
`
    );
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'warning: servers.missing: command definitely-not-installed-mcp is not on PATH here, so starting the server will fail (spawn ENOENT): install it, or give its full path\n' +
        'warning: servers.relative: command ./no-such-server is not an executable file here, so starting the server will fail (spawn ENOENT): install it, or give its full path\n' +
        `warning: servers.plain: command ${path.join(dir, 'plain-file.txt')} is not an executable file here, so starting the server will fail (spawn EACCES): install it, or give its full path\n` +
        `warning: servers.nowhere: its working directory ${path.join(dir, 'no-such-dir')} (cwd:) is not a directory here, so starting the server will fail: create it, or fix the path\n`
    );
  });

  it('exits 78 and prints every problem as file:line:col: message', () => {
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
    expect(result.status).toBe(78);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.every(line => line.startsWith(`${result.file}:`))).toBe(true);
    expect(result.stderr).toMatch(/:2:3: .*server id/);
    expect(result.stderr).toMatch(/:5:5: .*needs `image`.*`command`.*or `url`/);
    expect(result.stderr).toMatch(/:8:5: .*unknown key "idleTimout"/);
  });

  it('reports a duplicate server id', () => {
    const result = run(['validate'], `servers:\n  a:\n    command: ["x"]\n  a:\n    command: ["y"]\n`);
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/:4:3: duplicate key: a server id or setting appears twice/);
  });
});

/**
 * Configs and settings `serve` refuses: `validate` must refuse each the same way, and both with
 * the one exit status the README promises (78), saying what is wrong.
 */
describe('validate and serve refuse the same configs and settings, with 78', () => {
  const refused: {
    what: string;
    config: string;
    args?: string[];
    env?: Record<string, string>;
    says: RegExp;
  }[] = [
    {
      what: 'auth.mode oauth without publicUrl',
      config: 'gateway:\n  auth:\n    mode: oauth\nservers: {}\n',
      says: /:3:11: gateway\.auth\.mode: auth\.mode oauth needs gateway\.publicUrl/
    },
    {
      what: 'an http publicUrl for oauth',
      config: 'gateway:\n  publicUrl: http://gateway.example.com\n  auth:\n    mode: oauth\nservers: {}\n',
      says: /:2:14: gateway\.publicUrl: publicUrl "http:\/\/gateway\.example\.com" must be https/
    },
    {
      what: 'a publicUrl with a path for oauth',
      config: 'gateway:\n  publicUrl: https://example.com/gateway\n  auth:\n    mode: oauth\nservers: {}\n',
      says: /:2:14: gateway\.publicUrl: .*must be an origin like https:\/\/gateway\.example\.com, without a path/
    },
    {
      what: 'auth.mode oidc without an issuer',
      config: 'gateway:\n  auth:\n    mode: oidc\nservers: {}\n',
      says: /gateway\.auth\.mode: auth\.mode oidc needs auth\.oidc\.issuer/
    },
    {
      what: 'no authentication beyond loopback',
      config: 'gateway:\n  host: 0.0.0.0\nservers: {}\n',
      says: /refusing to serve 0\.0\.0\.0 without authentication/
    },
    { what: '--port abc', config: 'servers: {}\n', args: ['--port', 'abc'], says: /port must be a number/ },
    {
      what: 'GATEWAY_PORT=abc',
      config: 'servers: {}\n',
      env: { GATEWAY_PORT: 'abc' },
      says: /port must be a number from 0 to 65535, got "abc"/
    },
    {
      what: 'a url: server with an image',
      config: 'servers:\n  docs:\n    url: https://mcp.example.com/mcp\n    image: mcp/docs\n',
      says: /:4:12: servers\.docs\.image: image does not apply to a server with a url \(a remote server\)/
    },
    {
      what: 'a url: server whose ca file is missing',
      config: 'servers:\n  docs:\n    url: https://mcp.example.com/mcp\n    ca: /nonexistent/docs-ca.pem\n',
      says: /:4:9: ca: the CA file \/nonexistent\/docs-ca\.pem of server docs cannot be read \(ENOENT\)/
    },
    {
      what: 'LOG_LEVEL=loud',
      config: 'servers: {}\n',
      env: { LOG_LEVEL: 'loud' },
      says: /log level must be one of .*got "loud"/
    }
  ];
  for (const { what, config, args = [], env = {}, says } of refused) {
    it(what, () => {
      const validate = run(['validate', ...args], config, env);
      expect(validate.stderr).toMatch(says);
      expect(validate.status).toBe(78);
      // --port 0 unless the case is about the port: a refusal must come before any listening.
      const port = args.includes('--port') || env.GATEWAY_PORT ? [] : ['--port', '0'];
      const serve = run(['serve', ...port, ...args], config, { LOG_LEVEL: 'silent', ...env });
      expect(serve.stderr).toMatch(says);
      expect(serve.status).toBe(78);
    });
  }

  it('accepts what serve accepts: oauth on an https origin, or beyond loopback when told', () => {
    const oauth = run(
      ['validate'],
      'gateway:\n  publicUrl: https://gateway.example.com/\n  auth:\n    mode: oauth\nservers: {}\n'
    );
    expect(oauth.stderr).toBe('');
    expect(oauth.status).toBe(0);
    const told = run(['validate', '--host', '0.0.0.0', '--allow-unauthenticated'], 'servers: {}\n');
    expect(told.status).toBe(0);
  });
});

describe('mcp-gateway token create', () => {
  it('prints the token alone on stdout, so $(mcp-gateway token create …) is the token', () => {
    const result = run(['token', 'create', '--name', 'scripted'], 'servers: {}\n');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mgw_[A-Za-z0-9_-]{43}\n$/);
    expect(result.stderr).toBe(
      `# token "scripted" (${/\(([^)]+)\)/.exec(result.stderr)![1]}) in ${path.join(dir, 'data', 'gateway.db')}; shown once, only its hash is kept.\n`
    );
  });
});

describe('mcp-gateway token create --profile', () => {
  const config =
    'profiles:\n  dev:\n    servers: [a]\n  ops:\n    servers: [a]\nservers:\n  a:\n    command: [node]\n';

  it('refuses a profile servers.yaml does not define, naming those it does, and makes no token', () => {
    const refused = run(['token', 'create', '--name', 'bound', '--profile', 'dev,nope'], config);
    expect(refused).toMatchObject({
      status: 2,
      stdout: '',
      stderr:
        `mcp-gateway: --profile: ${refused.file} has no profile "nope" (its profiles: dev, ops); ` +
        'add it under profiles:, or name the config that has it with --config\n'
    });
    const none = run(['token', 'create', '--name', 'bound', '--profile', 'dev'], 'servers: {}\n');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('has no profile "dev" (it has no profiles: section)');
    expect(run(['token', 'list'], 'servers: {}\n').stdout).not.toMatch(/^bound\t/m);
    expect(run(['token', 'create', '--name', 'bound', '--profile', 'dev'], config).status).toBe(0);
  });

  it('names the config it could not read the profiles from', () => {
    const missing = path.join(dir, 'no-such-servers.yaml');
    const result = spawnSync(
      process.execPath,
      [
        CLI,
        'token',
        'create',
        '--name',
        'lost',
        '--profile',
        'dev',
        '--config',
        missing,
        '--state-dir',
        path.join(dir, 'data')
      ],
      { encoding: 'utf8', timeout: 20_000 }
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--profile: the profiles are read from ${missing}, which has problems`);
    expect(result.stderr).toContain('cannot read config: file not found');
  });
});

describe('mcp-gateway token revoke', () => {
  // An OAuth grant's id is base64url and begins with "-" one time in 64; `token list` prints it to be
  // pasted back. A token named so stands in for it: both are looked up by the same word.
  it('takes a name or id that begins with "-" as the target, not as an unknown flag', () => {
    expect(run(['token', 'create', '--name=-lead'], 'servers: {}\n').status).toBe(0);
    const result = run(['token', 'revoke', '-lead'], 'servers: {}\n');
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ status: 0, stdout: 'revoked -lead\n' });
    expect(run(['token', 'list'], 'servers: {}\n').stdout).toMatch(/^-lead\t.*\trevoked /m);
    // One target: a second word is refused, not taken instead of the first.
    expect(run(['token', 'create', '--name', 'kept'], 'servers: {}\n').status).toBe(0);
    expect(run(['token', 'revoke', '-lead', 'kept'], 'servers: {}\n')).toMatchObject({
      status: 2,
      stderr: 'mcp-gateway: token revoke takes one name or id, and was given 2: revoke them one at a time\n'
    });
    expect(run(['token', 'revoke', '-h'], 'servers: {}\n')).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('Usage:')
    });
  });
});

describe('token, admin and connect on a damaged state database', () => {
  it('exit 78 naming the file and the way out, as serve does', () => {
    const state = mkdtempSync(path.join(dir, 'damaged-'));
    const file = path.join(state, 'gateway.db');
    writeFileSync(file, Buffer.alloc(16_384, 0xa5));
    const config = path.join(state, 'servers.yaml');
    writeFileSync(config, 'gateway:\n  auth:\n    mode: token\nservers: {}\n');
    for (const args of [
      ['token', 'list'],
      ['token', 'create', '--name', 'x'],
      ['connect', 'cursor', '--create-token']
    ]) {
      const result = spawnSync(process.execPath, [CLI, ...args, '--config', config, '--state-dir', state], {
        encoding: 'utf8',
        timeout: 20_000
      });
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(78);
      expect(result.stderr).toContain(`mcp-gateway: the state database ${file} is damaged`);
      expect(result.stderr).toContain('--reset-damaged-state');
    }
  });
});

describe('mcp-gateway serve', () => {
  it('refuses to start on an invalid config, saying where', () => {
    const result = run(['serve', '--port', '0'], `servers:\n  x:\n    command: "not a list"\n`);
    expect(result.status).toBe(78); // EX_CONFIG: systemd does not restart it
    expect(result.stderr).toMatch(
      /servers-\w+\.yaml:3:14: servers\.x\.command: command "not a list" is a program and its arguments in one string; write it as a list, \["not", "a", "list"\]/
    );
    // And in the JSON log line, for whatever ships the log.
    const fatal = result.stderr
      .split('\n')
      .filter(line => line.startsWith('{'))
      .map(line => JSON.parse(line) as { msg: string; problems?: string[] })
      .find(line => line.msg === 'refusing to start: the config is invalid');
    expect(fatal?.problems).toEqual([
      expect.stringMatching(/:3:14: servers\.x\.command: command "not a list" is a program and its arguments/)
    ]);
  });

  it('says why a server quit during start: its last stderr line, in the error a call gets', async () => {
    const gateway = await GatewayProcess.start(`
servers:
  quits:
    command: ["sh", "-c", "echo starting >&2; echo 'config missing: API_URL' >&2; exit 3"]
`);
    try {
      await gateway.discovered();
      const client = await connect(gateway.url, 'legacy');
      try {
        await expect(client.callTool({ name: 'quits__anything', arguments: {} })).rejects.toThrow(
          'server quits exited during start (exit code 3); its last words on stderr: "config missing: API_URL"'
        );
      } finally {
        await client.close();
      }
    } finally {
      await gateway.dispose();
    }
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
