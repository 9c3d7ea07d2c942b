import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Everything } from '../support/everything-server.js';
import { CLI, connect, FIXTURE_SERVER, GatewayProcess, ROOT } from '../support/gateway-process.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'client-configs');
const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-import-'));
const home = path.join(dir, 'home');
mkdirSync(home);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs the built CLI with HOME in the test's folder, so no real client file is touched. */
function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? dir,
    env: { ...process.env, HOME: home, MCP_GATEWAY_TOKEN: '', ...options.env },
    timeout: 20_000
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The tool names an SDK client sees through the gateway with this Authorization header. */
async function toolsWith(url: URL, authorization: string): Promise<string[]> {
  const sdk = new Client({ name: 'connect-test', version: '1.0.0' });
  await sdk.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization } } }));
  cleanups.push(() => sdk.close());
  return (await sdk.listTools()).tools.map(tool => tool.name);
}

/** Every value in the fixtures that is, or may be, a secret. */
const SECRETS = ['ghp_exampleexampleexampleexample0000', 'BSAexampleKeyValue123', 's3cret-pg'];

describe('mcp-gateway import', () => {
  it('prints servers.yaml entries that validate, with no secret in them', () => {
    const imported = cli(['import', path.join(FIXTURES, 'claude_desktop_config.json')]);
    expect(imported.status, imported.stderr).toBe(0);
    for (const secret of SECRETS) expect(imported.stdout + imported.stderr).not.toContain(secret);
    expect(imported.stderr).toMatch(/^ {2}GITHUB_PERSONAL_ACCESS_TOKEN {2}\(github: /m);
    expect(imported.stderr).toContain('imported 5 server(s)');

    const file = path.join(dir, 'imported.yaml');
    writeFileSync(file, imported.stdout);
    const validated = cli(['validate', '--config', file], { env: { BRAVE_API_KEY: 'from-env' } });
    expect(validated.status, validated.stderr).toBe(0);
    expect(validated.stdout).toContain('github: docker ghcr.io/github/github-mcp-server; tools github__*');
    expect(validated.stdout).toContain(
      'UNAVAILABLE: environment variable GITHUB_PERSONAL_ACCESS_TOKEN not set'
    );
    expect(validated.stdout).toMatch(
      /^brave-search: process npx -y @modelcontextprotocol\/server-brave-search; [^\n]*s$/m
    );
    expect(validated.stdout).toContain('5 of 5 servers enabled');
  });

  it('imports a remote server as a url entry that validates', () => {
    const imported = cli(['import', path.join(FIXTURES, 'vscode-workspace', '.vscode', 'mcp.json')]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(
      /^ {2}microsoft-docs:\n {4}url: https:\/\/learn\.microsoft\.com\/api\/mcp\n {4}transport: streamable-http$/m
    );
    expect(imported.stderr).toContain('(1 Docker, 1 local process, 1 remote)');
    const file = path.join(dir, 'vscode.yaml');
    writeFileSync(file, imported.stdout);
    const validated = cli(['validate', '--config', file]);
    expect(validated.status, validated.stderr).toBe(0);
    expect(validated.stdout).toMatch(/^microsoft-docs: remote https:\/\/learn\.microsoft\.com\/api\/mcp;/m);
  });

  it('imports a remote server the gateway then serves, its header token taken from the environment', async () => {
    const everything = await Everything.start('streamableHttp');
    cleanups.push(() => everything.kill());
    // In front of it, a server that wants the token: the gateway must send the imported header.
    const seen: string[] = [];
    const guard = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      if (req.headers.authorization !== 'Bearer imported-secret') {
        res.writeHead(401).end();
        return;
      }
      const forward = http.request(
        new URL(req.url ?? '/', everything.url),
        { method: req.method, headers: req.headers },
        answer => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        }
      );
      req.pipe(forward);
    });
    await new Promise<void>(resolve => guard.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      guard.closeAllConnections();
      await new Promise(resolve => guard.close(resolve));
    });
    const clientFile = path.join(dir, 'remote-mcp.json');
    writeFileSync(
      clientFile,
      JSON.stringify({
        mcpServers: {
          tracker: {
            type: 'http',
            url: `http://127.0.0.1:${(guard.address() as AddressInfo).port}/mcp`,
            headers: { Authorization: 'Bearer imported-secret' }
          }
        }
      })
    );

    const imported = cli(['import', clientFile]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout + imported.stderr).not.toContain('imported-secret');
    expect(imported.stdout).toContain('Authorization: Bearer ${TRACKER_AUTHORIZATION}');
    expect(imported.stderr).toMatch(/^ {2}TRACKER_AUTHORIZATION {2}\(tracker: /m);
    expect(imported.stderr).toContain('(0 Docker, 0 local process, 1 remote)');

    const gateway = await GatewayProcess.start(imported.stdout, {
      env: { TRACKER_AUTHORIZATION: 'imported-secret' }
    });
    cleanups.push(() => gateway.dispose());
    const client = await connect(gateway.url, 'modern');
    cleanups.push(() => client.close());
    const { tools } = await client.listTools();
    expect(tools.map(tool => tool.name)).toContain('tracker__echo');
    expect(seen).toContain('Bearer imported-secret');
  });

  it('merges with --write, refusing server ids the config already has', () => {
    const config = path.join(dir, 'merge.yaml');
    const before = `# mine\nservers:\n  fetch:\n    image: mcp/fetch\n`;
    writeFileSync(config, before);

    const clash = cli([
      'import',
      path.join(FIXTURES, 'claude_desktop_config.json'),
      '--write',
      '--config',
      config
    ]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain(`${config} already has server fetch; nothing was written`);
    expect(readFileSync(config, 'utf8')).toBe(before);

    const merged = cli(['import', path.join(FIXTURES, 'cursor-mcp.json'), '--write', '--config', config]);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toBe('');
    expect(readFileSync(`${config}.bak`, 'utf8')).toBe(before);
    const validated = cli(['validate', '--config', config]);
    expect(validated.status, validated.stderr).toBe(0);
    expect(validated.stdout).toContain('5 of 5 servers enabled');
    expect(readFileSync(config, 'utf8')).toContain('# mine');
    expect(readFileSync(config, 'utf8')).not.toContain('wx-1234567890abcdef');
  });

  it('says when the file is missing', () => {
    const result = cli(['import', path.join(dir, 'nope.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`cannot read ${path.join(dir, 'nope.json')}: file not found`);
  });

  it('names the file when it is not a client config', () => {
    const file = path.join(FIXTURES, 'unknown-shape.json');
    const result = cli(['import', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}: no MCP servers found`);
  });
});

describe('mcp-gateway connect', () => {
  it('prints a client configuration with the gateway URL from the config', () => {
    const config = path.join(dir, 'connect.yaml');
    writeFileSync(config, 'gateway:\n  port: 9123\nservers: {}\n');
    const cursor = cli(['connect', 'cursor', '--config', config]);
    expect(cursor.status, cursor.stderr).toBe(0);
    expect(JSON.parse(cursor.stdout)).toEqual({
      mcpServers: { gateway: { url: 'http://127.0.0.1:9123/mcp' } }
    });
    const claude = cli(['connect', 'claude-code', '--config', config, '--port', '9200']);
    expect(claude.stdout).toBe(
      'claude mcp add --transport http --scope user gateway http://127.0.0.1:9200/mcp\n'
    );
    const unknown = cli(['connect', 'emacs', '--config', config]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('claude-code|claude-desktop|cursor|vscode');
  });

  it('with auth.mode token: needs a token, creates one, and the written client file gets in', async () => {
    const stateDir = path.join(dir, 'state');
    const gateway = await GatewayProcess.start(
      `gateway:\n  auth: { mode: token }\nservers:\n  fixture:\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`,
      { stateDir }
    );
    cleanups.push(() => gateway.dispose());
    const base = [
      '--config',
      path.join(gateway.dir, 'servers.yaml'),
      '--state-dir',
      stateDir,
      '--port',
      gateway.url.port
    ];

    const refused = cli(['connect', 'cursor', ...base]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/auth\.mode: token, so cursor needs a token: .*--create-token/);

    const file = path.join(home, '.cursor', 'mcp.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ mcpServers: { mine: { command: 'my-server' } } }));
    const written = cli([
      'connect',
      'cursor',
      ...base,
      '--create-token',
      '--name',
      'cursor-laptop',
      '--write'
    ]);
    expect(written.status, written.stderr).toBe(0);
    expect(written.stderr).toContain(`added a "gateway" entry in ${file} (the previous file is ${file}.bak)`);
    const client = JSON.parse(readFileSync(file, 'utf8'));
    expect(client.mcpServers.mine).toEqual({ command: 'my-server' });
    expect(client.mcpServers.gateway.url).toBe(new URL('/mcp', gateway.url).href);
    const authorization: string = client.mcpServers.gateway.headers.Authorization;
    expect(authorization).toMatch(/^Bearer mgw_/);

    expect(await toolsWith(new URL(client.mcpServers.gateway.url), authorization)).toContain('fixture__echo');
    expect(cli(['token', 'list', '--state-dir', stateDir]).stdout).toContain('cursor-laptop');

    // VS Code's workspace file gets the token through a prompt, never the secret itself.
    const workspace = path.join(dir, 'ws');
    mkdirSync(workspace);
    const vscode = cli(['connect', 'vscode', ...base, '--token', authorization.slice(7), '--write'], {
      cwd: workspace
    });
    expect(vscode.status, vscode.stderr).toBe(0);
    const vscodeFile = path.join(workspace, '.vscode', 'mcp.json');
    expect(readFileSync(vscodeFile, 'utf8')).not.toContain(authorization.slice(7));
    expect(existsSync(`${vscodeFile}.bak`)).toBe(false);
    expect(statSync(vscodeFile).mode & 0o777).toBe(0o600);

    // A made token that goes into no file is shown once, on stderr, for pasting into VS Code's prompt.
    const other = path.join(dir, 'ws2');
    mkdirSync(other);
    const created = cli(['connect', 'vscode', ...base, '--create-token', '--name', 'vs', '--write'], {
      cwd: other
    });
    expect(created.status, created.stderr).toBe(0);
    const shown = /paste it when VS Code asks for it; it is shown only now:\n(mgw_\S+)\n/.exec(
      created.stderr
    )?.[1];
    expect(shown).toBeDefined();
    expect(readFileSync(path.join(other, '.vscode', 'mcp.json'), 'utf8')).not.toContain(shown);
    expect(await toolsWith(gateway.url, `Bearer ${shown!}`)).toContain('fixture__echo');

    // A client file that cannot take the entry is refused before any token is made.
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{ not json');
    const refusedFile = cli([
      'connect',
      'cursor',
      ...base,
      '--create-token',
      '--name',
      'never',
      '--write',
      '--file',
      broken
    ]);
    expect(refusedFile.status).toBe(2);
    expect(refusedFile.stderr).toContain(`${broken} is not JSON`);
    expect(cli(['token', 'list', '--state-dir', stateDir]).stdout).not.toContain('never');
  });
});
