import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatProblem,
  loadConfigFile,
  parseConfig,
  type ConfigProblem,
  type LoadedConfig,
  type LoadOptions,
  type LoadResult
} from '../../src/config/load-config.js';
import type { ServerSpec } from '../../src/config/server-spec.js';

const FILE = '/etc/gateway/servers.yaml';

/** Strips the first newline and the common indentation, so configs can be written inline. */
function yaml(strings: TemplateStringsArray): string {
  const text = strings.join('').replace(/^\n/, '');
  const indents = text
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => /^ */.exec(line)![0].length);
  const indent = Math.min(...indents);
  return text
    .split('\n')
    .map(line => line.slice(indent))
    .join('\n');
}

const parse = (text: string, options: Partial<LoadOptions> = {}) =>
  parseConfig(text, FILE, { env: {}, ...options });

function loaded(result: LoadResult): LoadedConfig {
  if (!result.ok)
    throw new Error(`expected a valid config, got:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.config;
}

function problemsOf(result: LoadResult): readonly ConfigProblem[] {
  if (result.ok) throw new Error('expected problems, got a valid config');
  return result.problems;
}

function server(config: LoadedConfig, id: string): ServerSpec {
  const spec = config.servers.find(s => s.id === id);
  if (!spec) throw new Error(`no server ${id} in ${config.servers.map(s => s.id).join(', ')}`);
  return spec;
}

/** The server `id`, which must be of `kind`. */
function serverOf<K extends ServerSpec['kind']>(
  config: LoadedConfig,
  id: string,
  kind: K
): Extract<ServerSpec, { kind: K }> {
  const spec = server(config, id);
  if (spec.kind !== kind) throw new Error(`server ${id} is a ${spec.kind} server, not ${kind}`);
  return spec as Extract<ServerSpec, { kind: K }>;
}

describe('parseConfig: a valid config', () => {
  const text = yaml`
    defaults:
      callTimeout: 10
    servers:
      time:
        description: Tells the time
        command: [node, time.js, --utc]
        env:
          TZ: UTC
          RETRIES: 3
          VERBOSE: true
        cwd: servers/time
      web:
        image: ghcr.io/example/web:1.2
        idleTimeout: 1.5
        callTimeout: 0.25
        namespace: www
        tools:
          allow: [fetch*]
          deny: [fetch_private]
  `;

  it('gives specs with defaults applied and times in milliseconds', () => {
    const config = loaded(parse(text));
    expect(config.file).toBe(FILE);
    expect(config.warnings).toEqual([]);
    expect(config.servers.map(s => s.id)).toEqual(['time', 'web']);
    expect(server(config, 'time')).toMatchObject({
      id: 'time',
      description: 'Tells the time',
      namespace: 'time',
      kind: 'process',
      command: ['node', 'time.js', '--utc'],
      env: { TZ: 'UTC', RETRIES: '3', VERBOSE: 'true' },
      cwd: '/etc/gateway/servers/time',
      idleTimeoutMs: 300_000,
      callTimeoutMs: 10_000,
      tools: {},
      unavailable: undefined,
      fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/)
    });
    expect(server(config, 'web')).toMatchObject({
      id: 'web',
      description: undefined,
      namespace: 'www',
      kind: 'docker',
      image: 'ghcr.io/example/web:1.2',
      command: undefined,
      env: {},
      limits: {
        network: 'none',
        memoryBytes: 512 * 1024 ** 2,
        cpus: 1,
        pids: 256,
        binds: [],
        user: undefined,
        readOnly: false
      },
      idleTimeoutMs: 1500,
      callTimeoutMs: 250,
      tools: { allow: ['fetch*'], deny: ['fetch_private'] },
      unavailable: undefined,
      fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/)
    });
  });

  it('fills in the defaults section in raw', () => {
    const config = loaded(parse(text));
    expect(config.raw.defaults).toEqual({ idleTimeout: 300, callTimeout: 10, startTimeout: 30 });
    expect(config.raw.servers.time?.enabled).toBe(true);
  });

  it('reads prompts and resources filters beside tools, and refuses unknown keys in them', () => {
    const config = loaded(
      parse(yaml`
      servers:
        a:
          command: [x]
          prompts: { deny: ['debug-*'] }
          resources: { allow: ['ui://*'] }
    `)
    );
    expect(server(config, 'a')).toMatchObject({
      tools: {},
      prompts: { deny: ['debug-*'] },
      resources: { allow: ['ui://*'] }
    });
    expect(() =>
      loaded(
        parse(yaml`
        servers:
          a:
            command: [x]
            prompts: { only: ['x'] }
      `)
      )
    ).toThrow(/prompts/);
  });

  it('keeps an absolute cwd as is', () => {
    const config = loaded(
      parse(yaml`
      servers:
        a:
          command: [x]
          cwd: /srv/a
    `)
    );
    expect(serverOf(config, 'a', 'process').cwd).toBe('/srv/a');
  });

  it('accepts an idleTimeout of 0 (never stop)', () => {
    const config = loaded(parse('servers:\n  a:\n    command: [x]\n    idleTimeout: 0\n'));
    expect(server(config, 'a').idleTimeoutMs).toBe(0);
  });

  it.each([
    ['an empty file', ''],
    ['only whitespace and comments', '  \n# nothing yet\n'],
    ['an empty servers mapping', 'servers: {}\n']
  ])('accepts %s as a config with no servers', (_label, source) => {
    const config = loaded(parse(source));
    expect(config.servers).toEqual([]);
    expect(config.raw.defaults).toEqual({ idleTimeout: 300, callTimeout: 120, startTimeout: 30 });
  });

  it('accepts server ids of digits and dashes, and "constructor"', () => {
    const config = loaded(
      parse(yaml`
      servers:
        1:
          command: [x]
        a-b-c:
          command: [x]
        constructor:
          command: [x]
    `)
    );
    expect(config.servers.map(s => s.id).sort()).toEqual(['1', 'a-b-c', 'constructor']);
  });
});

describe('parseConfig: located problems', () => {
  it('points at an unknown top-level key', () => {
    const problems = problemsOf(parse('servers: {}\nbogus: 1\n'));
    expect(problems).toEqual([{ file: FILE, line: 2, col: 1, message: 'unknown key "bogus"' }]);
  });

  it('points at an unknown key inside a server', () => {
    const problems = problemsOf(
      parse(yaml`
      servers:
        time:
          command: [node]
          colour: red
    `)
    );
    expect(problems).toEqual([
      { file: FILE, line: 4, col: 5, message: 'servers.time: unknown key "colour"' }
    ]);
  });

  it('points at unknown keys in defaults and tools', () => {
    const problems = problemsOf(
      parse(yaml`
      defaults:
        idle: 3
      servers:
        a:
          command: [x]
          tools:
            only: [x]
    `)
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { file: FILE, line: 2, col: 3, message: 'defaults: unknown key "idle"' },
        { file: FILE, line: 7, col: 7, message: 'servers.a.tools: unknown key "only"' }
      ])
    );
    expect(problems).toHaveLength(2);
  });

  it.each(['Bad_ID', 'UPPER', '-lead', 'has space', 'x'.repeat(33)])('points at the bad server id %j', id => {
    const problems = problemsOf(parse(`servers:\n  ${JSON.stringify(id)}:\n    command: [x]\n`));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: FILE, line: 2, col: 3 });
    expect(problems[0]?.message).toContain(`servers.${id}:`);
    expect(problems[0]?.message).toMatch(/server id/);
  });

  it('points at a duplicate server id', () => {
    const problems = problemsOf(
      parse(yaml`
      servers:
        a:
          command: [x]
        a:
          command: [y]
    `)
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: FILE, line: 4, col: 3 });
    expect(problems[0]?.message).toMatch(/duplicate|unique/i);
  });

  it('points at a server with neither image nor command', () => {
    const problems = problemsOf(
      parse(yaml`
      servers:
        a:
          description: does nothing
    `)
    );
    expect(problems).toEqual([
      {
        file: FILE,
        line: 3,
        col: 5,
        message:
          'servers.a: a server needs `image` (a Docker container), `command` (a local process) or `url` (a remote server)'
      }
    ]);
  });

  it('points at values of the wrong type', () => {
    const problems = problemsOf(
      parse(yaml`
      servers:
        a:
          command: node x
          idleTimeout: "soon"
    `)
    );
    expect(problems).toEqual([
      {
        file: FILE,
        line: 3,
        col: 14,
        message:
          'servers.a.command: command "node x" is a program and its arguments in one string; write it as a list, ["node", "x"], or as command: "node" with args: ["x"] (a program whose path has spaces goes in the list form)'
      },
      {
        file: FILE,
        line: 4,
        col: 18,
        message: 'servers.a.idleTimeout: idleTimeout must be a number of seconds'
      }
    ]);
  });

  it.each([
    ['a negative idleTimeout', 'idleTimeout: -1', /idleTimeout must be 0 or more seconds/],
    ['a zero callTimeout', 'callTimeout: 0', /callTimeout must be more than 0 seconds/],
    // A Node.js timer over 2^31 - 1 ms fires after 1 ms: the call would time out at once.
    [
      'a callTimeout past what a timer can wait',
      'callTimeout: 3000000',
      /^servers\.a\.callTimeout: callTimeout must be at most 2147483 seconds \(24\.8 days\)/
    ],
    [
      'an idleTimeout past what a timer can wait',
      'idleTimeout: 2147484',
      /idleTimeout must be at most 2147483/
    ],
    ['an empty image', 'image: ""', /image must not be empty/],
    ['a namespace with _', 'namespace: has_underscore', /namespace must be empty or 1-32/],
    ['enabled as a string', 'enabled: "no"', /enabled/],
    [
      'enabled: yes (text in YAML 1.2)',
      'enabled: yes',
      /^servers\.a\.enabled: enabled must be true or false, not "yes" \(write enabled: true or enabled: false\)$/
    ],
    ['readOnly: on', 'readOnly: on', /^servers\.a\.readOnly: readOnly must be true or false, not "on"/],
    ['enabled as a number', 'enabled: 1', /^servers\.a\.enabled: enabled must be true or false$/],
    ['a bad env name', 'env: { "BAD-NAME": x }', /not a valid variable name/],
    ['a list as env value', 'env: { A: [1] }', /env\.A/]
  ])('rejects %s', (_label, line, message) => {
    const problems = problemsOf(parse(`servers:\n  a:\n    command: [x]\n    ${line}\n`));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: FILE, line: 4 });
    expect(problems[0]?.message).toMatch(message);
  });

  it('reads gateway.expose, all by default, and points at a value it does not know', () => {
    expect(loaded(parse('servers: {}\n')).raw.gateway.expose).toBe('all');
    expect(loaded(parse('gateway: { expose: search }\nservers: {}\n')).raw.gateway.expose).toBe('search');
    expect(problemsOf(parse('gateway:\n  expose: some\nservers: {}\n'))).toEqual([
      { file: FILE, line: 2, col: 11, message: 'gateway.expose: expose must be all or search' }
    ]);
  });

  it('takes command as one program with its args, as MCP clients write it, the same as the list', () => {
    const config = loaded(
      parse(yaml`
      servers:
        split:
          command: npx
          args: [-y, "@modelcontextprotocol/server-everything"]
        list:
          command: [npx, -y, "@modelcontextprotocol/server-everything"]
        alone:
          command: " ./server "
        appended:
          image: example/tool
          command: [serve]
          args: [--verbose]
    `)
    );
    const words = ['npx', '-y', '@modelcontextprotocol/server-everything'];
    expect(server(config, 'split')).toMatchObject({ kind: 'process', command: words });
    expect(server(config, 'split').fingerprint).toBe(server(config, 'list').fingerprint);
    expect(server(config, 'alone')).toMatchObject({ command: ['./server'] });
    expect(server(config, 'appended')).toMatchObject({ kind: 'docker', command: ['serve', '--verbose'] });
  });

  it('refuses args without a command, beside a url, and a command of other types', () => {
    const problems = problemsOf(
      parse(yaml`
      servers:
        a:
          image: example/tool
          args: [x]
        b:
          url: https://mcp.example.com/mcp
          args: [x]
        c:
          command: [1, 2]
        d:
          command: "  "
    `)
    ).map(problem => `${problem.line}: ${problem.message}`);
    expect(problems).toEqual([
      '4: servers.a.args: args are the arguments of command: set command to the program they go to',
      '7: servers.b.args: args does not apply to a server with a url (a remote server); remove args, or remove url to run the server here',
      '9: servers.c.command: command must be a program (a string) or a list of strings',
      '11: servers.d.command: command must not be empty'
    ]);
  });

  it('rejects an empty command list', () => {
    const problems = problemsOf(parse('servers:\n  a:\n    command: []\n'));
    expect(problems).toMatchObject([{ file: FILE, line: 3, col: 14 }]);
    expect(problems[0]?.message).toMatch(/^servers\.a\.command: /);
  });

  it('rejects servers that is not a mapping', () => {
    expect(problemsOf(parse('servers: [a, b]\n'))).toEqual([
      {
        file: FILE,
        line: 1,
        col: 10,
        message: 'servers: servers must be a mapping of server id to its settings'
      }
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(problemsOf(parse('- a\n- b\n'))).toMatchObject([{ file: FILE, line: 1, col: 1 }]);
  });

  it.each([
    ['an unclosed flow sequence', 'servers:\n  a: [1, 2\n', 3],
    ['tab indentation', 'servers:\n\ta:\n', 2],
    ['misaligned mapping items', 'servers:\n  a:\n    command: [x]\n   image: y\n', 4],
    ['an unclosed quote', 'servers:\n  a:\n    command: ["node]\n', 4],
    ['several documents', 'servers: {}\n---\nservers: {}\n', 2]
  ])('locates malformed YAML: %s', (_label, source, line) => {
    const problems = problemsOf(parse(source));
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]).toMatchObject({ file: FILE, line, col: expect.any(Number) });
    expect(problems[0]!.col).toBeGreaterThanOrEqual(1);
    expect(problems[0]!.message).not.toBe('');
    // One line, without yaml's code frame or its own position.
    expect(problems[0]!.message).not.toContain('\n');
    expect(problems[0]!.message).not.toMatch(/at line \d+/);
  });

  it('reports several problems at once, each located', () => {
    const problems = problemsOf(
      parse(yaml`
      bogus: true
      servers:
        Bad_ID:
          command: [x]
        good:
          command: "node x"
        lazy:
          idleTimeout: soon
        nothing:
          description: no image or command
    `)
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { file: FILE, line: 1, col: 1, message: 'unknown key "bogus"' },
        expect.objectContaining({ line: 3, col: 3, message: expect.stringMatching(/^servers\.Bad_ID: /) }),
        expect.objectContaining({
          line: 6,
          col: 14,
          message: expect.stringMatching(/^servers\.good\.command: /)
        }),
        expect.objectContaining({
          line: 8,
          col: 18,
          message: expect.stringMatching(/^servers\.lazy\.idleTimeout: /)
        }),
        expect.objectContaining({ line: 10, col: 5, message: expect.stringMatching(/^servers\.nothing: /) })
      ])
    );
    expect(problems).toHaveLength(5);
    // In the file's order, as they are read and fixed.
    expect(problems.map(problem => [problem.line, problem.col])).toEqual([
      [1, 1],
      [3, 3],
      [6, 14],
      [8, 18],
      [10, 5]
    ]);
  });

  it('says which key an unknown one was likely meant to be, among those its mapping accepts', () => {
    const problems = problemsOf(
      parse(yaml`
      gateway:
        prot: 9000
      defaults:
        idle_timeout: 60
      servers:
        a:
          imag: mcp/time
        b:
          command: [x]
          Enabled: false
        c:
          url: https://example.com/mcp
          header: { a: b }
          zzzzzz: 1
        d:
          command: [x]
          disabled: true
          timeout: 60
          working_directory: /srv
        e:
          serverUrl: https://example.com/mcp
    `)
    );
    expect(problems.map(problem => problem.message)).toEqual([
      'gateway: unknown key "prot" (did you mean "port"?)',
      'defaults: unknown key "idle_timeout" (did you mean "idleTimeout"?)',
      'servers.a: unknown key "imag" (did you mean "image"?)',
      'servers.a: a server needs `image` (a Docker container), `command` (a local process) or `url` (a remote server)',
      'servers.b: unknown key "Enabled" (did you mean "enabled"?)',
      'servers.c: unknown key "header" (did you mean "headers"?)',
      'servers.c: unknown key "zzzzzz"',
      'servers.d: unknown key "disabled" (did you mean "enabled"? disabled: true is enabled: false here)',
      'servers.d: unknown key "timeout" (did you mean "callTimeout"? in seconds here (Gemini CLI\'s timeout is milliseconds))',
      'servers.d: unknown key "working_directory" (did you mean "cwd"?)',
      'servers.e: unknown key "serverUrl" (did you mean "url"?)',
      'servers.e: a server needs `image` (a Docker container), `command` (a local process) or `url` (a remote server)'
    ]);
  });

  it('formats a problem as file:line:col: message', () => {
    expect(formatProblem({ file: 'servers.yaml', line: 3, col: 7, message: 'oops' })).toBe(
      'servers.yaml:3:7: oops'
    );
  });
});

describe('parseConfig: container limits', () => {
  const docker = (lines: string) => parse(`servers:\n  a:\n    image: node:24\n${lines}`);

  it('takes the settings a docker server gives', () => {
    const config = loaded(
      docker(
        [
          '    network: bridge',
          '    memory: 1g',
          '    cpus: 0.5',
          '    pids: 64',
          '    volumes: [data:/data, /abs:/abs:rw]',
          '    user: "1000:1000"',
          '    readOnly: true',
          ''
        ].join('\n')
      )
    );
    expect(serverOf(config, 'a', 'docker').limits).toEqual({
      network: 'bridge',
      memoryBytes: 1024 ** 3,
      cpus: 0.5,
      pids: 64,
      binds: ['/etc/gateway/data:/data:ro', '/abs:/abs:rw'],
      user: '1000:1000',
      readOnly: true
    });
  });

  it.each([
    ['7340032', 7340032],
    ['10240k', 10240 * 1024],
    ['512m', 512 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64mb', 64 * 1024 ** 2]
  ])('reads memory %j as %i bytes', (memory, bytes) => {
    const config = loaded(docker(`    memory: ${memory}\n`));
    expect(serverOf(config, 'a', 'docker').limits.memoryBytes).toBe(bytes);
  });

  it('points at docker-only settings on a process server', () => {
    const problems = problemsOf(
      parse('servers:\n  a:\n    command: [x]\n    network: bridge\n    pids: 5\n')
    );
    expect(problems).toEqual([
      {
        file: FILE,
        line: 4,
        col: 14,
        message: 'servers.a.network: network applies only to servers with an image'
      },
      { file: FILE, line: 5, col: 11, message: 'servers.a.pids: pids applies only to servers with an image' }
    ]);
  });

  it.each([
    'memory: 0',
    'memory: -5',
    'memory: lots',
    'memory: 100k',
    'cpus: 0',
    'pids: 1.5',
    'volumes: [relative]'
  ])('points at %j', line => {
    const problems = problemsOf(docker(`    ${line}\n`));
    expect(problems).toMatchObject([{ file: FILE, line: 4 }]);
  });

  // A memory string that comes to 0 bytes would become Memory: 0, which Docker reads as "no limit".
  it.each(['"0"', '0m', '0.0001k'])('rejects memory %s, which would remove the limit', memory => {
    const result = docker(`    memory: ${memory}\n`);
    expect(result.ok).toBe(false);
    expect(problemsOf(result)).toMatchObject([
      { file: FILE, line: 4, message: expect.stringMatching(/memory/) }
    ]);
  });
});

describe('parseConfig: ${VAR} references', () => {
  const text = yaml`
    servers:
      api:
        command: [node, "\${APP_DIR}/server.js", "--token=\${API_TOKEN}"]
        env:
          TOKEN: \${API_TOKEN}
          URL: "https://\${API_HOST}:\${API_PORT}/v1"
          LITERAL: $API_TOKEN
          PLAIN: no references
      other:
        command: [x]
  `;

  it('resolves references in env values and command from the env option', () => {
    const config = loaded(
      parse(text, {
        env: { APP_DIR: '/opt/app', API_TOKEN: 's3cret', API_HOST: 'example.com', API_PORT: '8443' }
      })
    );
    const api = serverOf(config, 'api', 'process');
    expect(api.command).toEqual(['node', '/opt/app/server.js', '--token=s3cret']);
    expect(api.env).toEqual({
      TOKEN: 's3cret',
      URL: 'https://example.com:8443/v1',
      LITERAL: '$API_TOKEN',
      PLAIN: 'no references'
    });
    expect(api.unavailable).toBeUndefined();
    expect(config.warnings).toEqual([]);
  });

  it('takes values only from the env option, not the process environment', () => {
    expect(process.env.PATH).toBeDefined();
    const config = loaded(
      parse('servers:\n  a:\n    command: [x]\n    env:\n      P: ${PATH}\n', { env: {} })
    );
    expect(server(config, 'a').unavailable).toMatch(/PATH/);
  });

  it('counts a variable set to "" as set', () => {
    const config = loaded(
      parse('servers:\n  a:\n    command: [x]\n    env:\n      E: "${EMPTY}"\n', { env: { EMPTY: '' } })
    );
    expect(server(config, 'a')).toMatchObject({ env: { E: '' }, unavailable: undefined });
  });

  it('takes ${VAR:-default} from the environment, else (unset or empty) its default', () => {
    const config = loaded(
      parse(
        yaml`
        servers:
          a:
            command: [node, "\${APP:-server.js}", "--port=\${PORT:-8080}"]
            env: { LEVEL: "\${LEVEL:-info}", EMPTY: "\${BLANK:-fallback}", NONE: "\${UNSET:-}" }
          r:
            url: https://\${HOST:-mcp.example.com}/mcp
      `,
        { env: { PORT: '9000', BLANK: '' } }
      )
    );
    expect(server(config, 'a')).toMatchObject({
      command: ['node', 'server.js', '--port=9000'],
      env: { LEVEL: 'info', EMPTY: 'fallback', NONE: '' },
      unavailable: undefined
    });
    expect(serverOf(config, 'r', 'remote').remote.url.href).toBe('https://mcp.example.com/mcp');
    expect(config.warnings).toEqual([]);
  });

  it('makes only the server with an unset variable unavailable, naming the variable', () => {
    const config = loaded(parse(text, { env: { APP_DIR: '/opt/app', API_HOST: 'h', API_PORT: '1' } }));
    const api = server(config, 'api');
    expect(api.unavailable).toBeDefined();
    expect(api.unavailable).toContain('API_TOKEN');
    expect(api.unavailable).not.toContain('API_HOST');
    expect(server(config, 'other').unavailable).toBeUndefined();
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toContain('api');
    expect(config.warnings[0]).toContain('API_TOKEN');
  });

  it('names every unset variable once', () => {
    const config = loaded(parse(text, { env: { APP_DIR: '/opt/app' } }));
    const unavailable = server(config, 'api').unavailable!;
    for (const name of ['API_TOKEN', 'API_HOST', 'API_PORT']) {
      expect(unavailable.split(name)).toHaveLength(2);
    }
    expect(unavailable).not.toContain('APP_DIR');
    expect(config.warnings).toHaveLength(1);
  });

  it('does not resolve references in disabled servers', () => {
    const config = loaded(parse('servers:\n  a:\n    enabled: false\n    command: [x, "${NOPE}"]\n'));
    expect(config.warnings).toEqual([]);
    expect(config.servers).toEqual([]);
  });
});

describe('parseConfig: enabled and namespace', () => {
  it('leaves enabled: false servers out of specs but keeps them in raw', () => {
    const config = loaded(
      parse(yaml`
      servers:
        on:
          command: [x]
        off:
          enabled: false
          command: [x]
        explicit:
          enabled: true
          command: [x]
    `)
    );
    expect(config.servers.map(s => s.id)).toEqual(['on', 'explicit']);
    expect(config.raw.servers.off).toMatchObject({ enabled: false });
  });

  it('defaults the namespace to the server id and allows ""', () => {
    const config = loaded(
      parse(yaml`
      servers:
        time:
          command: [x]
        bare:
          command: [x]
          namespace: ""
        other:
          command: [x]
          namespace: Other-1
    `)
    );
    expect(server(config, 'time').namespace).toBe('time');
    expect(server(config, 'bare').namespace).toBe('');
    expect(server(config, 'other').namespace).toBe('Other-1');
  });
});

describe('parseConfig: idle timeouts', () => {
  const text = yaml`
    defaults:
      idleTimeout: 60
    servers:
      inherits:
        command: [x]
      own:
        command: [x]
        idleTimeout: 5
  `;

  it("uses the file's defaults.idleTimeout without the option", () => {
    const config = loaded(parse(text));
    expect(server(config, 'inherits').idleTimeoutMs).toBe(60_000);
    expect(server(config, 'own').idleTimeoutMs).toBe(5000);
  });

  it("lets the defaultIdleTimeout option override defaults.idleTimeout but not a server's own", () => {
    const config = loaded(parse(text, { defaultIdleTimeout: 900 }));
    expect(server(config, 'inherits').idleTimeoutMs).toBe(900_000);
    expect(server(config, 'own').idleTimeoutMs).toBe(5000);
  });

  it('honours a defaultIdleTimeout option of 0', () => {
    const config = loaded(parse(text, { defaultIdleTimeout: 0 }));
    expect(server(config, 'inherits').idleTimeoutMs).toBe(0);
  });

  it('treats an undefined defaultIdleTimeout option as absent', () => {
    const config = loaded(parse(text, { defaultIdleTimeout: undefined }));
    expect(server(config, 'inherits').idleTimeoutMs).toBe(60_000);
  });
});

describe('parseConfig: fingerprint', () => {
  const base = {
    command: '[node, a.js]',
    env: '{ A: "1", B: "2" }',
    extra: ''
  };
  const fingerprint = (parts: Partial<typeof base> = {}, env: Record<string, string> = {}) => {
    const { command, env: envText, extra } = { ...base, ...parts };
    const text = `servers:\n  a:\n    command: ${command}\n    env: ${envText}\n${extra}`;
    return server(loaded(parse(text, { env })), 'a').fingerprint;
  };

  it('is stable for the same config', () => {
    expect(fingerprint()).toBe(fingerprint());
  });

  it('changes when the command changes', () => {
    expect(fingerprint({ command: '[node, b.js]' })).not.toBe(fingerprint());
    expect(fingerprint({ command: '[node, a.js, --flag]' })).not.toBe(fingerprint());
  });

  it('changes when the environment changes', () => {
    expect(fingerprint({ env: '{ A: "1", B: "3" }' })).not.toBe(fingerprint());
    expect(fingerprint({ env: '{ A: "1" }' })).not.toBe(fingerprint());
    expect(fingerprint({ env: '{ A: "1", B: "2", C: "" }' })).not.toBe(fingerprint());
  });

  it('changes when a referenced variable resolves differently', () => {
    const withVar = { env: '{ A: "${SECRET}" }' };
    expect(fingerprint(withVar, { SECRET: 'one' })).not.toBe(fingerprint(withVar, { SECRET: 'two' }));
  });

  it('changes when cwd changes', () => {
    expect(fingerprint({ extra: '    cwd: one\n' })).not.toBe(fingerprint({ extra: '    cwd: two\n' }));
  });

  it('does not depend on the order of env keys', () => {
    expect(fingerprint({ env: '{ B: "2", A: "1" }' })).toBe(fingerprint());
  });

  it.each([
    ['idleTimeout', '    idleTimeout: 5\n'],
    ['callTimeout', '    callTimeout: 5\n'],
    ['description', '    description: something\n'],
    ['namespace', '    namespace: other\n'],
    ['tools', '    tools: { deny: [x] }\n']
  ])('does not change when %s changes', (_label, extra) => {
    expect(fingerprint({ extra })).toBe(fingerprint());
  });

  it('does not change when the defaultIdleTimeout option changes', () => {
    const text = `servers:\n  a:\n    command: [x]\n`;
    expect(server(loaded(parse(text, { defaultIdleTimeout: 1 })), 'a').fingerprint).toBe(
      server(loaded(parse(text, { defaultIdleTimeout: 2 })), 'a').fingerprint
    );
  });

  it('differs between a docker server and a process server', () => {
    const docker = server(loaded(parse('servers:\n  a:\n    image: node\n')), 'a').fingerprint;
    const other = server(loaded(parse('servers:\n  a:\n    image: python\n')), 'a').fingerprint;
    expect(docker).not.toBe(other);
    expect(docker).not.toBe(fingerprint());
  });
});

describe('loadConfigFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gateway-config-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a missing file as a located problem', async () => {
    const file = path.join(dir, 'missing.yaml');
    await expect(loadConfigFile(file, { env: {} })).resolves.toEqual({
      ok: false,
      problems: [
        {
          file,
          line: 1,
          col: 1,
          message: expect.stringMatching(
            /^cannot read config: file not found\. Write one .* --config or MCP_GATEWAY_CONFIG/
          )
        }
      ]
    });
  });

  it('reports a directory as a located problem', async () => {
    await expect(loadConfigFile(dir, { env: {} })).resolves.toMatchObject({
      ok: false,
      problems: [{ file: dir, line: 1, col: 1, message: expect.stringMatching(/^cannot read config: /) }]
    });
  });

  it('reads a file and resolves cwd against its directory', async () => {
    const file = path.join(dir, 'servers.yaml');
    await writeFile(file, 'servers:\n  a:\n    command: [x]\n    cwd: work\n');
    await expect(loadConfigFile(file, { env: {} })).resolves.toMatchObject({
      ok: true,
      config: { file, servers: [{ id: 'a', cwd: path.join(dir, 'work') }] }
    });
  });

  it('names the file in problems', async () => {
    const file = path.join(dir, 'servers.yaml');
    await writeFile(file, 'servers:\n  a:\n    image: x\n    colour: red\n');
    await expect(loadConfigFile(file, { env: {} })).resolves.toEqual({
      ok: false,
      problems: [{ file, line: 4, col: 5, message: 'servers.a: unknown key "colour"' }]
    });
  });
});

describe('parseConfig never throws', () => {
  const attempt = (text: string) => () => parseConfig(text, FILE, { env: {} });

  it.each([
    ['__proto__ at top level', '__proto__:\n  polluted: true\nservers: {}\n'],
    ['constructor at top level', 'constructor:\n  prototype:\n    polluted: true\n'],
    ['__proto__ as a server id', 'servers:\n  __proto__:\n    command: [x]\n'],
    ['__proto__ inside a server', 'servers:\n  a:\n    command: [x]\n    __proto__: { polluted: true }\n'],
    [
      '__proto__ as an env name',
      'servers:\n  a:\n    command: [x]\n    env:\n      __proto__: { polluted: true }\n'
    ],
    ['constructor inside tools', 'servers:\n  a:\n    command: [x]\n    tools:\n      constructor: [x]\n'],
    ['a flow mapping with __proto__', '{ "__proto__": { "servers": 1 } }']
  ])('for %s, and pollutes no prototype', (_label, text) => {
    expect(attempt(text)).not.toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('rejects __proto__ as an unknown top-level key', () => {
    expect(problemsOf(parse('__proto__:\n  polluted: true\n'))).toEqual([
      { file: FILE, line: 1, col: 1, message: 'unknown key "__proto__"' }
    ]);
  });

  // yaml's toJS() throws for an alias whose anchor is not defined; parseConfig must report it.
  it('reports an undefined alias as a problem', () => {
    expect(attempt('servers:\n  a:\n    command: *nope\n')).not.toThrow();
    const result = parse('servers:\n  a:\n    command: *nope\n');
    expect(result.ok).toBe(false);
    expect(problemsOf(result)[0]).toMatchObject({
      file: FILE,
      message: expect.stringMatching(/alias|nope/i)
    });
  });

  // yaml's toJS() throws "Excessive alias count" past its alias budget; parseConfig must report it.
  it('reports an alias bomb as a problem instead of throwing', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`
      );
    expect(attempt(lines.join('\n'))).not.toThrow();
    expect(parse(lines.join('\n')).ok).toBe(false);
  });

  it('for arbitrary strings', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 30 })
    );
    fc.assert(
      fc.property(text, source => {
        const result = parseConfig(source, FILE, { env: {} });
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) {
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) {
            expect(problem.line).toBeGreaterThanOrEqual(1);
            expect(problem.col).toBeGreaterThanOrEqual(1);
          }
        }
      }),
      { numRuns: 2000 }
    );
  });

  it('for arbitrary YAML-like token soup, including __proto__ and constructor keys', () => {
    const token = fc.constantFrom(
      'servers',
      'defaults',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'a',
      'command',
      'image',
      'env',
      'idleTimeout',
      'enabled',
      'namespace',
      'tools',
      'allow',
      ':',
      ': ',
      '\n',
      '\n  ',
      '\n    ',
      '- ',
      '[',
      ']',
      '{',
      '}',
      ',',
      '"',
      "'",
      '&x ',
      '*x',
      '!!str ',
      '? ',
      '#',
      '---',
      '${X}',
      '1',
      '-1',
      'true',
      'null',
      '~',
      '\t'
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), tokens => {
        const result = parseConfig(tokens.join(''), FILE, { env: {} });
        expect(typeof result.ok).toBe('boolean');
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { numRuns: 2000 }
    );
  });
});

describe('parseConfig: remote servers (url:)', () => {
  let dir: string;
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gateway-remote-'));
    await writeFile(path.join(dir, 'docs-ca.pem'), PEM);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const parseIn = (text: string, env: Record<string, string> = {}) =>
    parseConfig(text, path.join(dir, 'servers.yaml'), { env });

  it("reads a client config's type: http and sse set the transport, stdio runs here", () => {
    const config = loaded(
      parseIn(yaml`
      servers:
        streamed: { type: http, url: https://a.example.com/mcp }
        named: { type: streamable-http, url: https://a.example.com/mcp }
        legacy: { type: sse, url: https://a.example.com/sse }
        agreeing: { type: sse, transport: sse, url: https://a.example.com/sse }
        plain: { url: https://a.example.com/mcp }
        local: { type: stdio, command: npx, args: [-y, pkg] }
    `)
    );
    const transport = (id: string) => serverOf(config, id, 'remote').remote.transport;
    expect(['streamed', 'named', 'legacy', 'agreeing', 'plain'].map(transport)).toEqual([
      'streamable-http',
      'streamable-http',
      'sse',
      'sse',
      'auto'
    ]);
    expect(server(config, 'local')).toMatchObject({ kind: 'process', command: ['npx', '-y', 'pkg'] });
  });

  it('refuses a type that contradicts url or transport, or that it does not know', () => {
    const problems = problemsOf(
      parseIn(yaml`
      servers:
        a: { type: http, command: [x] }
        b: { type: stdio, url: https://a.example.com/mcp }
        c: { type: sse, transport: streamable-http, url: https://a.example.com/sse }
        d: { type: websocket, url: wss://a.example.com/ws }
    `)
    ).map(problem => problem.message);
    expect(problems).toEqual([
      'servers.a.type: type: http is a remote server: give its url (or use type: stdio with image or command)',
      'servers.b.type: type: stdio is a server run here, but url makes it remote: remove one of them',
      'servers.c.transport: transport: streamable-http contradicts type: sse; keep one of them',
      'servers.d.type: type must be stdio, http, streamable-http or sse (or left out: image, command or url tells the kind)',
      'servers.d.url: url must be an http:// or https:// URL, e.g. https://mcp.example.com/mcp'
    ]);
  });

  it('takes ${VAR} anywhere in a url, the whole of it or its port included, and checks it once resolved', () => {
    const config = loaded(
      parseIn(
        yaml`
        servers:
          whole: { url: "\${WHOLE_URL}" }
          port: { url: "http://127.0.0.1:\${PORT}/mcp" }
          fallback: { url: "\${API_BASE:-https://api.example.com}/mcp" }
          broken: { url: "\${NOT_A_URL}" }
      `,
        { WHOLE_URL: 'https://a.example.com/mcp', PORT: '3101', NOT_A_URL: 'ftp://x' }
      )
    );
    const href = (id: string) => serverOf(config, id, 'remote').remote.url.href;
    expect([href('whole'), href('port'), href('fallback')]).toEqual([
      'https://a.example.com/mcp',
      'http://127.0.0.1:3101/mcp',
      'https://api.example.com/mcp'
    ]);
    expect(server(config, 'broken').unavailable).toBe(
      'url ${NOT_A_URL} is not an http(s) URL once its variables are resolved'
    );
  });

  it('gives a remote spec with every setting resolved', () => {
    const config = loaded(
      parseIn(
        yaml`
        gateway:
          auth: { mode: token }
        servers:
          docs:
            url: https://\${DOCS_HOST}/mcp
            transport: sse
            headers: { Authorization: 'Bearer \${DOCS_TOKEN}', X-Team: core }
            ca: docs-ca.pem
            auth: oauth
            clientId: gateway-client
            clientSecret: \${DOCS_SECRET}
            scope: read write
            credentials: per-user
            idleTimeout: 60
            callTimeout: 5
            maxConcurrency: 2
            maxQueue: 3
            tools: { deny: [delete*] }
      `,
        { DOCS_HOST: 'mcp.example.com', DOCS_TOKEN: 't0k3n', DOCS_SECRET: 's3cret' }
      )
    );
    const docs = serverOf(config, 'docs', 'remote');
    expect(docs).toMatchObject({
      id: 'docs',
      kind: 'remote',
      namespace: 'docs',
      idleTimeoutMs: 60_000,
      callTimeoutMs: 5_000,
      maxConcurrency: 2,
      maxQueue: 3,
      tools: { deny: ['delete*'] },
      unavailable: undefined,
      remote: {
        transport: 'sse',
        headers: { Authorization: 'Bearer t0k3n', 'X-Team': 'core' },
        ca: PEM,
        oauth: {
          clientId: 'gateway-client',
          clientSecret: 's3cret',
          scope: 'read write',
          credentials: 'per-user'
        }
      }
    });
    expect(docs.remote.url.href).toBe('https://mcp.example.com/mcp');
    expect(Object.keys(docs)).not.toEqual(expect.arrayContaining(['image']));
    expect('command' in docs || 'env' in docs || 'cwd' in docs).toBe(false);
  });

  it('defaults to transport auto, no headers, no ca, no OAuth; shared credentials with auth: oauth', () => {
    const config = loaded(
      parseIn(
        'servers:\n  a:\n    url: http://127.0.0.1:9000/mcp\n  b:\n    url: https://b.example/mcp\n    auth: oauth\n'
      )
    );
    expect(serverOf(config, 'a', 'remote').remote).toMatchObject({
      transport: 'auto',
      headers: {},
      ca: undefined,
      oauth: undefined
    });
    expect(serverOf(config, 'b', 'remote').remote.oauth).toEqual({
      clientId: undefined,
      clientSecret: undefined,
      scope: undefined,
      credentials: 'shared'
    });
  });

  it('makes a server whose header needs an unset variable unavailable, like env', () => {
    const config = loaded(
      parseIn(
        "servers:\n  a:\n    url: https://a.example/mcp\n    headers: { Authorization: 'Bearer ${NOPE}' }\n"
      )
    );
    expect(server(config, 'a').unavailable).toBe('environment variable NOPE not set');
    expect(config.warnings).toEqual(['server a is unavailable: environment variable NOPE not set']);
  });

  it.each([
    ['ftp://a.example/mcp', 'url must be an http:// or https:// URL'],
    ['not a url', 'url must be an http:// or https:// URL'],
    ['', 'url must be an http:// or https:// URL'],
    ['https://bob:s3cret@a.example/mcp', 'url must not hold a user name or password (user:password@)'],
    ['https://bob:${PW}@a.example/mcp', 'headers: { Authorization: "Basic ${NAME}" }'],
    ['https://bob@a.example/mcp', 'url must not hold a user name or password']
  ])('refuses url %j', (url, message) => {
    expect(problemsOf(parseIn(`servers:\n  a:\n    url: "${url}"\n`))).toEqual([
      { file: path.join(dir, 'servers.yaml'), line: 3, col: 10, message: expect.stringContaining(message) }
    ]);
  });

  it('makes a server unavailable whose url, once resolved, holds a password, and names it without it', () => {
    const config = loaded(
      parse('servers:\n  a:\n    url: "${A_URL}"\n', { env: { A_URL: 'https://bob:s3cret@a.example/mcp' } })
    );
    const remote = server(config, 'a');
    expect(remote.unavailable).toContain('url must not hold a user name or password');
    expect(JSON.stringify(remote)).not.toContain('s3cret');
  });

  it.each([
    ['image: node', 'image'],
    ['command: [node, a.js]', 'command'],
    ['env: { A: "1" }', 'env'],
    ['envFile: a.env', 'envFile'],
    ['cwd: here', 'cwd'],
    ['network: bridge', 'network'],
    ['memory: 1g', 'memory']
  ])('refuses %s beside url, naming the key', (line, key) => {
    const problems = problemsOf(parseIn(`servers:\n  a:\n    url: https://a.example/mcp\n    ${line}\n`));
    expect(problems).toEqual([
      {
        file: path.join(dir, 'servers.yaml'),
        line: 4,
        col: expect.any(Number),
        message: `servers.a.${key}: ${key} does not apply to a server with a url (a remote server); remove ${key}, or remove url to run the server here`
      }
    ]);
  });

  it.each(['transport: sse', 'headers: { A: b }', 'ca: x.pem', 'auth: oauth'])(
    'refuses %s without url',
    line => {
      const key = line.split(':')[0]!;
      expect(problemsOf(parseIn(`servers:\n  a:\n    command: [x]\n    ${line}\n`))).toEqual([
        expect.objectContaining({
          line: 4,
          message: `servers.a.${key}: ${key} applies only to servers with a url (remote servers)`
        })
      ]);
    }
  );

  it.each(['clientId: c', 'clientSecret: s', 'scope: read', 'credentials: shared'])(
    'refuses %s without auth: oauth',
    line => {
      const key = line.split(':')[0]!;
      expect(problemsOf(parseIn(`servers:\n  a:\n    url: https://a.example/mcp\n    ${line}\n`))).toEqual([
        expect.objectContaining({
          line: 4,
          message: `servers.a.${key}: ${key} applies only with auth: oauth`
        })
      ]);
    }
  );

  it('refuses a transport, auth or credentials it does not know', () => {
    const problems = problemsOf(
      parseIn(
        'servers:\n  a:\n    url: https://a.example/mcp\n    transport: websocket\n    auth: basic\n  b:\n    url: https://b.example/mcp\n    auth: oauth\n    credentials: everyone\n'
      )
    );
    expect(problems.map(problem => problem.message)).toEqual([
      'servers.a.transport: transport must be auto, streamable-http or sse',
      'servers.a.auth: auth must be oauth (or left out: headers only)',
      'servers.b.credentials: credentials must be shared or per-user'
    ]);
  });

  it('refuses per-user credentials on a gateway without authentication', () => {
    const text =
      'servers:\n  a:\n    url: https://a.example/mcp\n    auth: oauth\n    credentials: per-user\n';
    expect(problemsOf(parseIn(text))).toEqual([
      {
        file: path.join(dir, 'servers.yaml'),
        line: 5,
        col: 18,
        message: expect.stringContaining('credentials: per-user needs gateway.auth.mode token, oauth or oidc')
      }
    ]);
    for (const mode of ['token', 'oauth', 'oidc']) {
      const gateway =
        mode === 'oauth'
          ? 'gateway:\n  publicUrl: http://127.0.0.1:8000\n  auth: { mode: oauth }\n'
          : mode === 'oidc'
            ? 'gateway:\n  auth: { mode: oidc, oidc: { issuer: "https://id.example", audience: gw } }\n'
            : 'gateway:\n  auth: { mode: token }\n';
      expect(parseIn(gateway + text).ok).toBe(true);
    }
  });

  it('refuses a ca file that is missing or holds no certificate, naming the file', async () => {
    const missing = problemsOf(
      parseIn('servers:\n  a:\n    url: https://a.example/mcp\n    ca: nowhere.pem\n')
    );
    expect(missing).toEqual([
      {
        file: path.join(dir, 'servers.yaml'),
        line: 4,
        col: 9,
        message: expect.stringContaining(
          `the CA file ${path.join(dir, 'nowhere.pem')} of server a cannot be read (ENOENT)`
        )
      }
    ]);
    await writeFile(path.join(dir, 'empty.pem'), 'not a certificate\n');
    expect(
      problemsOf(parseIn('servers:\n  a:\n    url: https://a.example/mcp\n    ca: empty.pem\n'))
    ).toEqual([
      expect.objectContaining({ line: 4, message: expect.stringContaining('holds no PEM certificate') })
    ]);
  });

  it('refuses cwd beside image (a container has no local working directory)', () => {
    expect(problemsOf(parse('servers:\n  a:\n    image: node\n    cwd: here\n'))).toEqual([
      expect.objectContaining({
        line: 4,
        message: expect.stringContaining('servers.a.cwd: cwd applies only to local processes')
      })
    ]);
  });

  describe('fingerprint', () => {
    const fingerprint = (extra: string, env: Record<string, string> = { T: 'one' }) =>
      server(loaded(parseIn(`servers:\n  a:\n    url: https://a.example/mcp\n${extra}`, env)), 'a')
        .fingerprint;
    const headers = "    headers: { Authorization: 'Bearer ${T}' }\n";

    it('changes with the url, the transport, the header names and the auth settings', () => {
      const base = fingerprint(headers);
      expect(fingerprint(headers.replace('a.example', 'b.example'))).toBe(base); // headers only: same
      expect(
        server(
          loaded(parseIn(`servers:\n  a:\n    url: https://b.example/mcp\n${headers}`, { T: 'one' })),
          'a'
        ).fingerprint
      ).not.toBe(base);
      expect(fingerprint(headers + '    transport: sse\n')).not.toBe(base);
      expect(fingerprint("    headers: { X-Key: 'Bearer ${T}' }\n")).not.toBe(base);
      expect(fingerprint(headers + '    auth: oauth\n')).not.toBe(base);
      expect(fingerprint(headers + '    auth: oauth\n    scope: a\n')).not.toBe(
        fingerprint(headers + '    auth: oauth\n')
      );
    });

    it('does not change with header values (a rotated token changes no tool)', () => {
      expect(fingerprint(headers, { T: 'one' })).toBe(fingerprint(headers, { T: 'two' }));
    });

    it('differs from a process server', () => {
      expect(fingerprint('')).not.toBe(
        server(loaded(parse('servers:\n  a:\n    command: [x]\n')), 'a').fingerprint
      );
    });
  });
});
