import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { ClientConfigError, readClientConfig } from '../../src/import/client-config.js';
import { planImport, type ImportPlan } from '../../src/import/plan-import.js';
import { mergeImport, renderImport } from '../../src/import/servers-yaml.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures', 'client-configs');
const WORKSPACE = path.join(FIXTURES, 'vscode-workspace');

function plan(name: string): ImportPlan {
  const file = path.join(FIXTURES, name);
  const folder = path.dirname(file);
  return planImport(readClientConfig(readFileSync(file, 'utf8'), file), {
    file,
    workspaceFolder: path.basename(folder) === '.vscode' ? path.dirname(folder) : folder,
    home: '/home/alex'
  });
}

function entries(result: ImportPlan) {
  return Object.fromEntries(result.entries.map(({ id, entry }) => [id, entry]));
}

/** Every literal value a fixture holds that must never reach servers.yaml. */
const SECRETS = [
  'ghp_exampleexampleexampleexample0000',
  'BSAexampleKeyValue123',
  's3cret-pg',
  'cursor-secret-header-value',
  'wx-1234567890abcdef',
  'notes-token-for-shop',
  'notes-token-for-blog',
  'dev-token',
  'production'
];

describe('import: Claude Desktop', () => {
  const result = plan('claude_desktop_config.json');

  it('turns commands into local processes and docker run into Docker servers', () => {
    expect(entries(result)).toEqual({
      filesystem: {
        command: [
          'npx',
          '-y',
          '@modelcontextprotocol/server-filesystem',
          '/Users/alex/Desktop',
          '/Users/alex/Downloads'
        ]
      },
      github: {
        image: 'ghcr.io/github/github-mcp-server',
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${GITHUB_PERSONAL_ACCESS_TOKEN}' },
        network: 'bridge'
      },
      'brave-search': {
        command: ['npx', '-y', '@modelcontextprotocol/server-brave-search'],
        env: { BRAVE_API_KEY: '${BRAVE_API_KEY}' }
      },
      fetch: { command: ['uvx', 'mcp-server-fetch'] },
      postgres: {
        image: 'mcp/postgres',
        command: ['postgresql://alex@localhost/app'],
        env: { PGPASSWORD: '${PGPASSWORD}' },
        volumes: ['/Users/alex/pg-dumps:/dumps:rw'],
        network: 'host'
      }
    });
  });

  it('says what it renamed and left out, and which variables to set', () => {
    expect(result.notes).toContain(
      'Brave Search: imported as "brave-search" (a server id is 1-32 of a-z, 0-9 and -)'
    );
    expect(result.notes.join('\n')).toMatch(/postgres: docker options .* left out: --name pg-mcp/);
    expect(result.variables.map(v => v.name)).toEqual([
      'GITHUB_PERSONAL_ACCESS_TOKEN',
      'BRAVE_API_KEY',
      'PGPASSWORD'
    ]);
    expect(result.variables[1]).toMatchObject({ servers: ['brave-search'] });
    expect(result.variables[1]!.hint).toMatch(/claude_desktop_config\.json .*BRAVE_API_KEY.*not copied/);
  });
});

describe('import: Cursor', () => {
  const result = plan('cursor-mcp.json');

  it('imports remote servers as url entries, the header credential as a reference', () => {
    expect(entries(result)).toMatchObject({
      linear: { url: 'https://mcp.linear.app/sse' },
      'internal-api': {
        url: 'https://mcp.internal.example.com/mcp',
        headers: { Authorization: 'Bearer ${INTERNAL_API_AUTHORIZATION}' }
      }
    });
    expect(result.variables.find(v => v.name === 'INTERNAL_API_AUTHORIZATION')).toMatchObject({
      servers: ['internal-api'],
      hint: 'a value written in cursor-mcp.json; not copied'
    });
    expect(result.notes).toContain(
      'linear: no credentials in cursor-mcp.json; if it answers HTTP 401, add auth: oauth to it and run mcp-gateway login linear'
    );
  });

  it('replaces a credential given as an argument, and every env value, by a reference', () => {
    expect(entries(result)).toMatchObject({
      sqlite: { command: ['uvx', 'mcp-server-sqlite', '--db-path', '/home/alex/data/app.db'] },
      'weather-api': {
        command: ['node', '/home/alex/mcp/weather/build/index.js', '--api-key', '${API_KEY}'],
        env: { NODE_ENV: '${NODE_ENV}' }
      }
    });
  });
});

describe('import: Claude Code', () => {
  it('reads .mcp.json with its types and ${VAR} / ${VAR:-default} expansions', () => {
    const result = plan('claude-code-mcp.json');
    expect(entries(result)).toMatchObject({
      playwright: { command: ['npx', '@playwright/mcp@latest'] },
      'db-tools': {
        command: ['python', '-m', 'db_mcp', '--dsn', '${DATABASE_URL}'],
        // LOG_LEVEL is the gateway's own setting: the server's value gets a name of its own.
        env: { DB_TOKEN: '${DB_TOKEN}', LOG_LEVEL: '${DB_TOOLS_LOG_LEVEL}' }
      }
    });
    expect(entries(result)).toMatchObject({
      sentry: { url: 'https://mcp.sentry.dev/mcp', transport: 'streamable-http' },
      asana: { url: 'https://mcp.asana.com/sse', transport: 'sse' }
    });
    expect(result.variables.find(v => v.name === 'DATABASE_URL')?.hint).toBe(
      'the client read it from its environment'
    );
  });

  it('reads ~/.claude.json: user servers and each project’s, an identical one once', () => {
    const result = plan('claude.json');
    expect(Object.keys(entries(result))).toEqual(['memory', 'git', 'notes', 'notes-2']);
    expect(result.notes).toEqual([
      'notes: imported as "notes-2" (another server in claude.json is called "notes" too)'
    ]);
    // Same variable, different values: the second server gets its own name, not the first's value.
    expect(entries(result).notes?.env).toEqual({ NOTES_TOKEN: '${NOTES_TOKEN}' });
    expect(entries(result)['notes-2']?.env).toEqual({ NOTES_TOKEN: '${NOTES_2_NOTES_TOKEN}' });
  });
});

describe('import: ${VAR:-default}', () => {
  const claude = (servers: object) => {
    const file = '/work/app/.mcp.json';
    return planImport(readClientConfig(JSON.stringify({ mcpServers: servers }), file), {
      file,
      workspaceFolder: '/work/app',
      home: '/home/alex'
    });
  };

  it('keeps a default, which servers.yaml reads the same way, unless it may be a credential', () => {
    const result = claude({
      api: { type: 'http', url: '${API_BASE:-https://api.example.com}/mcp' },
      tool: {
        command: 'node',
        args: ['server.js', '--port', '${PORT:-3000}', '--api-key', '${KEY:-k-123}'],
        env: { REGION: '${REGION:-eu-west-1}', API_TOKEN: '${API_TOKEN:-abc}', OTHER: '${X:-sk-abcdef}' }
      }
    });
    expect(entries(result)).toEqual({
      api: { url: '${API_BASE:-https://api.example.com}/mcp', transport: 'streamable-http' },
      tool: {
        command: ['node', 'server.js', '--port', '${PORT:-3000}', '--api-key', '${KEY}'],
        env: { REGION: '${REGION:-eu-west-1}', API_TOKEN: '${API_TOKEN}', OTHER: '${X}' }
      }
    });
    expect(result.variables.find(v => v.name === 'REGION')?.hint).toBe(
      'the client read it from its environment; unset or empty, it is "eu-west-1", the default in .mcp.json (kept)'
    );
    expect(result.variables.find(v => v.name === 'X')?.hint).toBe(
      'the client read it from its environment; its default in .mcp.json may be a credential: not copied'
    );
    const yaml = renderImport(result, '.mcp.json');
    for (const secret of ['k-123', 'abc', 'sk-abcdef']) expect(yaml).not.toContain(secret);
    // With none of the variables set, the defaults are what the gateway uses.
    const loaded = parseConfig(yaml, 'servers.yaml', { env: {} });
    const specs = loaded.ok ? loaded.config.servers : [];
    const api = specs.find(spec => spec.id === 'api');
    expect(api?.kind === 'remote' && api.remote.url.href).toBe('https://api.example.com/mcp');
    const tool = specs.find(spec => spec.id === 'tool');
    expect(tool?.kind === 'process' && tool.command.slice(0, 4)).toEqual([
      'node',
      'server.js',
      '--port',
      '3000'
    ]);
  });
});

describe('import: VS Code', () => {
  const result = plan('vscode-workspace/.vscode/mcp.json');

  it('reads JSONC, turns inputs and ${env:X} into variables, and resolves ${workspaceFolder}', () => {
    expect(entries(result)).toEqual({
      'microsoft-docs': { url: 'https://learn.microsoft.com/api/mcp', transport: 'streamable-http' },
      github: {
        image: 'ghcr.io/github/github-mcp-server',
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${GITHUB_TOKEN}' },
        network: 'bridge'
      },
      repotools: {
        command: ['node', `${WORKSPACE}/tools/mcp-server.js`],
        env: { OPENAI_API_KEY: '${OPENAI_API_KEY}' },
        envFile: `${WORKSPACE}/.env`
      }
    });
    expect(result.variables.find(v => v.name === 'GITHUB_TOKEN')?.hint).toBe(
      'VS Code prompted for it (input "github-token": GitHub personal access token)'
    );
  });
});

describe('import output', () => {
  it('never holds a secret from the file, and loads as a valid servers.yaml', () => {
    for (const fixture of [
      'claude_desktop_config.json',
      'cursor-mcp.json',
      'claude-code-mcp.json',
      'claude.json',
      'vscode-workspace/.vscode/mcp.json'
    ]) {
      const yaml = renderImport(plan(fixture), fixture);
      for (const secret of SECRETS) expect(yaml).not.toContain(secret);
      const loaded = parseConfig(yaml, 'servers.yaml', { env: {} });
      expect(loaded.ok, `${fixture}:\n${yaml}\n${JSON.stringify(loaded)}`).toBe(true);
    }
  });

  it('merges into an existing file, keeping its comments, and refuses ids already there', () => {
    const existing =
      '# my gateway\ngateway:\n  port: 9000\nservers:\n  fetch: # the old one\n    image: mcp/fetch\n';
    const result = plan('claude_desktop_config.json');
    expect(() => mergeImport(existing, result, 'servers.yaml')).toThrow(
      /servers\.yaml already has server fetch; nothing was written/
    );
    const without = { ...result, entries: result.entries.filter(e => e.id !== 'fetch') };
    const merged = mergeImport(existing, without, 'servers.yaml');
    expect(merged).toContain('# my gateway');
    expect(merged).toContain('# the old one');
    const loaded = parseConfig(merged, 'servers.yaml', { env: {} });
    expect(loaded.ok && Object.keys(loaded.config.raw.servers)).toEqual([
      'fetch',
      'filesystem',
      'github',
      'brave-search',
      'postgres'
    ]);
  });

  it('merges into an empty file', () => {
    const merged = mergeImport('', plan('cursor-mcp.json'), 'servers.yaml');
    const loaded = parseConfig(merged, 'servers.yaml', { env: {} });
    expect(loaded.ok && Object.keys(loaded.config.raw.servers)).toEqual([
      'linear',
      'internal-api',
      'sqlite',
      'weather-api'
    ]);
  });
});

describe('import: values that must not be copied', () => {
  const config = (server: object) =>
    planImport(readClientConfig(JSON.stringify({ mcpServers: { s: server } }), 'c.json'), {
      file: 'c.json',
      workspaceFolder: '/w',
      home: '/h'
    });

  const vscode = (server: object) =>
    planImport(readClientConfig(JSON.stringify({ servers: { s: server } }), 'mcp.json'), {
      file: 'mcp.json',
      workspaceFolder: '/w',
      home: '/h'
    });

  /** A Cursor-style file (`mcpServers`) named c.json. */
  const cursorLike = (mcpServers: object) =>
    planImport(readClientConfig(JSON.stringify({ mcpServers }), 'c.json'), {
      file: 'c.json',
      workspaceFolder: '/w',
      home: '/h'
    });

  it('replaces credentials in arguments: option values, token-shaped words, URLs with a password', () => {
    const result = config({
      command: 'srv',
      args: [
        '--token=abc',
        '-k',
        'keep',
        '--password',
        'pw',
        'ghp_0123456789',
        '--header',
        'X-Key: v',
        'postgresql://app:pw@db/app',
        'postgresql://app@db/app'
      ]
    });
    expect(result.entries[0]!.entry.command).toEqual([
      'srv',
      '--token=${TOKEN}',
      '-k',
      'keep',
      '--password',
      '${PASSWORD}',
      '${S_SECRET}',
      '--header',
      '${HEADER}',
      '${S_URL}',
      'postgresql://app@db/app'
    ]);
    expect(result.variables.map(v => v.name)).toEqual(['TOKEN', 'PASSWORD', 'S_SECRET', 'HEADER', 'S_URL']);
  });

  it('reads a docker command line once: one note per unknown placeholder', () => {
    const result = vscode({
      command: 'docker',
      args: ['run', '-i', '--rm', '-v', '/data:/data', 'img', '--name', '${workspaceFolderBasename}']
    });
    expect(result.entries[0]!.entry.command).toEqual(['--name', '${workspaceFolderBasename}']);
    expect(result.notes.filter(note => note.includes('workspaceFolderBasename'))).toHaveLength(1);
  });

  it("maps a remote server's type or transport to servers.yaml's transport", () => {
    const transports = ['http', 'streamable-http', 'sse', undefined].map(type =>
      config({ url: 'https://h/mcp', ...(type === undefined ? {} : { type }) })
    );
    expect(transports.map(result => result.entries[0]!.entry)).toEqual([
      { url: 'https://h/mcp', transport: 'streamable-http' },
      { url: 'https://h/mcp', transport: 'streamable-http' },
      { url: 'https://h/mcp', transport: 'sse' },
      { url: 'https://h/mcp' }
    ]);
    expect(config({ serverUrl: 'https://h/sse', transport: 'sse' }).entries[0]!.entry).toEqual({
      url: 'https://h/sse',
      transport: 'sse'
    });
    expect(() =>
      readClientConfig('{"mcpServers": {"x": {"type": "ws", "url": "wss://h"}}}', 'a.json')
    ).toThrow(/^a\.json: mcpServers\.x: not a server entry this importer knows: .*its type is "ws"/);
  });

  it('replaces credentials in headers and URLs, keeping the rest and the auth scheme', () => {
    const result = vscode({
      type: 'http',
      url: 'https://bot:hunter2@h/mcp?region=eu&api_key=k-123&tenant=${input:tenant}',
      headers: {
        Authorization: 'Bearer ${input:api-token}',
        'X-API-Key': 'plain-key',
        'Proxy-Authorization': 'Basic dXNlcjpwdw==',
        'X-Trace': 'ghp_0123456789',
        Accept: 'application/json'
      }
    });
    // The URL's user and password go: requests cannot send them, and this server has its own
    // Authorization header (see the next test for one without).
    expect(result.entries[0]!.entry).toEqual({
      url: 'https://h/mcp?region=eu&api_key=${S_API_KEY}&tenant=${TENANT}',
      transport: 'streamable-http',
      headers: {
        Authorization: 'Bearer ${API_TOKEN}',
        'X-API-Key': '${S_X_API_KEY}',
        'Proxy-Authorization': 'Basic ${S_PROXY_AUTHORIZATION}',
        'X-Trace': '${S_X_TRACE}',
        Accept: 'application/json'
      }
    });
    expect(result.variables.map(v => v.name)).toEqual([
      'S_API_KEY',
      'TENANT',
      'API_TOKEN',
      'S_X_API_KEY',
      'S_PROXY_AUTHORIZATION',
      'S_X_TRACE'
    ]);
    const yaml = renderImport(result, 'mcp.json');
    for (const secret of ['hunter2', 'k-123', 'plain-key', 'dXNlcjpwdw==', 'ghp_0123456789']) {
      expect(yaml).not.toContain(secret);
    }
    expect(parseConfig(yaml, 'servers.yaml', { env: {} }).ok).toBe(true);
  });

  it("turns a URL's user and password into a Basic Authorization header, written out as a secret", () => {
    const result = vscode({ type: 'http', url: 'https://bot:hunter%202@h/mcp' });
    expect(result.entries[0]!.entry).toEqual({
      url: 'https://h/mcp',
      transport: 'streamable-http',
      headers: { Authorization: 'Basic ${S_BASIC_AUTH}' }
    });
    expect(result.variables).toEqual([
      expect.objectContaining({
        name: 'S_BASIC_AUTH',
        hint: expect.stringContaining('the base64 of the user:password')
      })
    ]);
    const yaml = renderImport(result, 'mcp.json');
    expect(yaml).not.toContain('hunter');
    expect(parseConfig(yaml, 'servers.yaml', { env: {} }).ok).toBe(true);
    // One with a placeholder cannot be encoded here: a reference to set by hand.
    const placeholder = vscode({ type: 'http', url: 'https://bot:${input:pw}@h/mcp' });
    expect(placeholder.entries[0]!.entry).toMatchObject({
      url: 'https://h/mcp',
      headers: { Authorization: 'Basic ${S_BASIC_AUTH}' }
    });
  });

  it('replaces keys in a URL path and query, and says so instead of "no credentials"', () => {
    const zapierKey = 'sk-ak-1234abcd5678efgh9012ijkl';
    const pathKey = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    const uuid = '3f2c1b9a-7d4e-4c2b-9a1f-0e8d7c6b5a49';
    const result = cursorLike({
      zap: { url: `https://actions.zapier.com/mcp/${zapierKey}/sse` },
      hooks: { url: `https://n8n.example.com/mcp/${uuid}/v1/${pathKey}` },
      query: {
        url: `https://h/api/2024-11-05/mcp?key=k1&token=t2&accessKey=a3&sig=s4&region=eu&x=${pathKey}`
      },
      plain: { url: 'https://h/v1/mcpserver2024edition/mcp?region=eu&page=2' }
    });
    expect(entries(result)).toEqual({
      zap: { url: 'https://actions.zapier.com/mcp/${ZAP_URL_KEY}/sse' },
      hooks: { url: 'https://n8n.example.com/mcp/${HOOKS_URL_KEY}/v1/${HOOKS_URL_KEY_2}' },
      query: {
        url: 'https://h/api/2024-11-05/mcp?key=${QUERY_KEY}&token=${QUERY_TOKEN}&accessKey=${QUERY_ACCESSKEY}&sig=${QUERY_SIG}&region=eu&x=${QUERY_X}'
      },
      plain: { url: 'https://h/v1/mcpserver2024edition/mcp?region=eu&page=2' }
    });
    expect(result.notes).toEqual([
      'zap: credentials in its URL not copied: set ZAP_URL_KEY (listed below)',
      'hooks: credentials in its URL not copied: set HOOKS_URL_KEY, HOOKS_URL_KEY_2 (listed below)',
      'query: credentials in its URL not copied: set QUERY_KEY, QUERY_TOKEN, QUERY_ACCESSKEY, QUERY_SIG, QUERY_X (listed below)',
      'plain: no credentials in c.json; if it answers HTTP 401, add auth: oauth to it and run mcp-gateway login plain'
    ]);
    const yaml = renderImport(result, 'c.json');
    for (const secret of [zapierKey, pathKey, uuid, 'k1', 't2', 'a3', 's4'])
      expect(yaml).not.toContain(secret);
    expect(parseConfig(yaml, 'servers.yaml', { env: {} }).ok).toBe(true);
  });

  it('says "no credentials" only of a remote server with none, in its headers or its URL', () => {
    const result = cursorLike({
      referenced: { url: 'https://h/mcp?api_key=${KEY}' },
      headed: { url: 'https://h/mcp', headers: { Accept: 'application/json' } }
    });
    expect(entries(result).referenced).toEqual({ url: 'https://h/mcp?api_key=${KEY}' });
    expect(result.notes).toEqual([
      'headed: no credentials in c.json; if it answers HTTP 401, add auth: oauth to it and run mcp-gateway login headed'
    ]);
  });

  it('leaves out, with a note, a remote server servers.yaml would refuse', () => {
    const result = cursorLike({
      socket: { url: 'ws://h/mcp' },
      spaced: { url: 'https://h/mcp', headers: { 'Bad Header': 'x' } },
      fine: { url: 'https://h/mcp' }
    });
    expect(result.entries.map(e => e.id)).toEqual(['fine']);
    // Only the server imported gets the note about logging in.
    expect(result.notes.filter(note => note.includes('no credentials'))).toEqual([
      'fine: no credentials in c.json; if it answers HTTP 401, add auth: oauth to it and run mcp-gateway login fine'
    ]);
    expect(result.notes).toContain(
      'socket: not imported: url: url must be an http:// or https:// URL, e.g. https://mcp.example.com/mcp (mcpServers.socket in c.json)'
    );
    expect(result.notes).toContain(
      'spaced: not imported: headers.Bad Header: not a valid HTTP header name (mcpServers.spaced in c.json)'
    );
  });

  it('drops variables a local process inherits from the gateway, saying so', () => {
    const result = config({ command: 'node', env: { PATH: '/opt/homebrew/bin:/usr/bin', KEY: 'k' } });
    expect(result.entries[0]!.entry.env).toEqual({ KEY: '${KEY}' });
    expect(result.notes).toContain("s: env PATH not imported: a local process gets the gateway's own");
  });
});

describe('readClientConfig', () => {
  it('names the file when it has none of the known shapes', () => {
    const file = path.join(FIXTURES, 'unknown-shape.json');
    expect(() => readClientConfig(readFileSync(file, 'utf8'), file)).toThrow(
      new ClientConfigError(
        `${file}: no MCP servers found: expected "mcpServers" (Claude Desktop, Cursor, Claude Code's .mcp.json), ` +
          `"projects" (Claude Code's ~/.claude.json) or "servers" (VS Code's mcp.json) at the top level`
      )
    );
  });

  it('names the file and the entry for an entry it cannot read', () => {
    expect(() =>
      readClientConfig('{"mcpServers": {"x": {"type": "ws", "endpoint": "y"}}}', 'a.json')
    ).toThrow(/^a\.json: mcpServers\.x: not a server entry this importer knows: .*its type is "ws"/);
    expect(() => readClientConfig('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', 'a.json')).toThrow(
      'a.json: mcpServers.x.args: expected a list of strings'
    );
    expect(() => readClientConfig('{"mcpServers": ', 'a.json')).toThrow(/^a\.json is not JSON/);
  });
});
