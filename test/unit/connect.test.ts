import { describe, expect, it } from 'vitest';
import { connectOptions } from '../../src/connect-command.js';
import { clientConfigFile } from '../../src/connect/client-config-file.js';
import { clientEntry, shellQuote } from '../../src/connect/client-entry.js';
import { gatewayUrl } from '../../src/connect/gateway-url.js';
import { mergeClientConfig } from '../../src/connect/merge-client-config.js';

const URL = 'http://127.0.0.1:8000/mcp';
const TOKEN = 'mgw_abc';

describe('gatewayUrl', () => {
  it('prefers publicUrl, then the flags, then the file, then 127.0.0.1:8000', () => {
    expect(gatewayUrl({ publicUrl: 'https://mcp.example.com/', host: '0.0.0.0' }, {})).toBe(
      'https://mcp.example.com/mcp'
    );
    expect(gatewayUrl({ host: '10.1.2.3', port: 9000 }, { port: 9100 })).toBe('http://10.1.2.3:9100/mcp');
    expect(gatewayUrl({}, {})).toBe(URL);
    expect(gatewayUrl({ host: '0.0.0.0' }, {})).toBe(URL);
    expect(gatewayUrl({ host: '::1' }, {})).toBe('http://[::1]:8000/mcp');
  });

  it('refuses port 0, which only the running gateway knows', () => {
    expect(() => gatewayUrl({ port: 0 }, {})).toThrow(/port is 0 .*--port/);
  });
});

describe('clientEntry', () => {
  it('claude-code: the claude mcp add command line, with the header when there is a token', () => {
    expect(clientEntry('claude-code', URL, undefined).text).toBe(
      `claude mcp add --transport http --scope user gateway ${URL}\n`
    );
    expect(clientEntry('claude-code', URL, TOKEN).text).toBe(
      `claude mcp add --transport http --scope user gateway ${URL} --header 'Authorization: Bearer mgw_abc'\n`
    );
    expect(clientEntry('claude-code', URL, TOKEN).entry).toEqual({
      type: 'http',
      url: URL,
      headers: { Authorization: 'Bearer mgw_abc' }
    });
  });

  it('cursor: a url entry with headers', () => {
    expect(JSON.parse(clientEntry('cursor', URL, TOKEN).text)).toEqual({
      mcpServers: { gateway: { url: URL, headers: { Authorization: 'Bearer mgw_abc' } } }
    });
  });

  it('vscode: servers with type http, and the token through a password input, never in the file', () => {
    const entry = clientEntry('vscode', URL, TOKEN);
    expect(entry.text).not.toContain(TOKEN);
    expect(JSON.parse(entry.text)).toEqual({
      inputs: [
        {
          type: 'promptString',
          id: 'mcp-gateway-token',
          description: 'mcp-gateway bearer token',
          password: true
        }
      ],
      servers: {
        gateway: { type: 'http', url: URL, headers: { Authorization: 'Bearer ${input:mcp-gateway-token}' } }
      }
    });
    expect(JSON.parse(clientEntry('vscode', URL, undefined).text)).toEqual({
      servers: { gateway: { type: 'http', url: URL } }
    });
  });

  it('claude-desktop: an mcp-remote stdio bridge, the header in env', () => {
    expect(JSON.parse(clientEntry('claude-desktop', URL, TOKEN).text)).toEqual({
      mcpServers: {
        gateway: {
          command: 'npx',
          args: ['-y', 'mcp-remote', URL, '--header', 'Authorization:${AUTH_HEADER}'],
          env: { AUTH_HEADER: 'Bearer mgw_abc' }
        }
      }
    });
    expect(clientEntry('claude-desktop', 'http://10.0.0.5:8000/mcp', undefined).entry.args).toEqual([
      '-y',
      'mcp-remote',
      'http://10.0.0.5:8000/mcp',
      '--allow-http'
    ]);
    expect(clientEntry('claude-desktop', URL, undefined).note).toMatch(/only stdio servers.*Connectors/);
  });

  it('quotes shell words only when needed', () => {
    expect(shellQuote('http://h:1/mcp')).toBe('http://h:1/mcp');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('clientConfigFile', () => {
  const where = { home: '/home/a', cwd: '/work/p', platform: 'linux' as const };
  it('knows each client’s usual place', () => {
    expect(clientConfigFile('claude-code', where)).toBe('/home/a/.claude.json');
    expect(clientConfigFile('cursor', where)).toBe('/home/a/.cursor/mcp.json');
    expect(clientConfigFile('vscode', where)).toBe('/work/p/.vscode/mcp.json');
    expect(clientConfigFile('claude-desktop', { ...where, platform: 'darwin' })).toBe(
      '/home/a/Library/Application Support/Claude/claude_desktop_config.json'
    );
  });
});

describe('mergeClientConfig', () => {
  it('adds the entry and keeps every other key and server', () => {
    const existing = JSON.stringify({ numStartups: 3, mcpServers: { other: { command: 'x' } } });
    const merged = mergeClientConfig(existing, clientEntry('claude-code', URL, undefined), 'f.json');
    expect(JSON.parse(merged.text)).toEqual({
      numStartups: 3,
      mcpServers: { other: { command: 'x' }, gateway: { type: 'http', url: URL } }
    });
    expect(merged.replaced).toBe(false);
  });

  it('replaces an earlier gateway entry, and adds VS Code inputs once', () => {
    const existing = `{
      // workspace servers
      "inputs": [{ "type": "promptString", "id": "mcp-gateway-token", "password": true }],
      "servers": { "gateway": { "type": "http", "url": "http://old/mcp" }, "mine": { "command": "y" } },
    }`;
    const merged = mergeClientConfig(existing, clientEntry('vscode', URL, TOKEN), 'mcp.json');
    const parsed = JSON.parse(merged.text);
    expect(parsed.inputs).toHaveLength(1);
    expect(parsed.servers.mine).toEqual({ command: 'y' });
    expect(parsed.servers.gateway.url).toBe(URL);
    expect(merged).toMatchObject({ replaced: true, droppedComments: true });
  });

  it('refuses a file that is not a JSON object, naming it', () => {
    expect(() => mergeClientConfig('[1]', clientEntry('cursor', URL, undefined), '/x/mcp.json')).toThrow(
      /\/x\/mcp\.json does not hold a JSON object/
    );
    expect(() =>
      mergeClientConfig('{"mcpServers": 3}', clientEntry('cursor', URL, undefined), '/x/mcp.json')
    ).toThrow(/"mcpServers" is not an object/);
  });
});

describe('connectOptions', () => {
  const settings = { configFile: 'c.yaml', stateDir: 'd', host: undefined, port: 9000, logLevel: 'info' };
  it('takes the token from --token, else MCP_GATEWAY_TOKEN, and --file implies --write', () => {
    expect(connectOptions('cursor', { file: 'f.json' }, settings, { MCP_GATEWAY_TOKEN: 'mgw_env' })).toEqual({
      configFile: 'c.yaml',
      stateDir: 'd',
      host: undefined,
      port: 9000,
      name: undefined,
      servers: undefined,
      tools: undefined,
      expires: undefined,
      client: 'cursor',
      write: true,
      file: 'f.json',
      token: 'mgw_env',
      createToken: false
    });
    expect(
      connectOptions('cursor', { token: 'mgw_flag' }, settings, { MCP_GATEWAY_TOKEN: 'mgw_env' })
    ).toMatchObject({ token: 'mgw_flag', write: false });
    expect(connectOptions('cursor', {}, settings, { MCP_GATEWAY_TOKEN: '' }).token).toBeUndefined();
  });
});
