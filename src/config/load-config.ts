import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import {
  ConfigFileSchema,
  sizeInBytes,
  transportOfType,
  type ConfigFile,
  type ServerConfig,
  URL_USERINFO_PROBLEM
} from './schema.js';
import { fingerprintOf, type RemoteTarget, type ServerSpec } from './server-spec.js';
import { keyHint } from './key-hint.js';
import { expandReferences, placeholderUrl } from './references.js';

/** A problem in the config file, located for a person to fix: prints as `file:line:col: message`. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return `${problem.file}:${problem.line}:${problem.col}: ${problem.message}`;
}

/** The loaded registry: every configured server (enabled or not) and the resolved specs of the enabled ones. */
export interface LoadedConfig {
  readonly file: string;
  readonly raw: ConfigFile;
  readonly servers: readonly ServerSpec[];
  /** Not errors: the gateway starts, but a person should know (an unset `${VAR}`, say). */
  readonly warnings: readonly string[];
}

export type LoadResult =
  | { readonly ok: true; readonly config: LoadedConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface LoadOptions {
  /** Where `${VAR}` values come from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides `defaults.idleTimeout` (seconds), from `DEFAULT_IDLE_TIMEOUT`. */
  readonly defaultIdleTimeout?: number | undefined;
}

/** Reads and checks a config file. Never throws for a bad file: every problem comes back located. */
export async function loadConfigFile(file: string, options: LoadOptions): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found. Write one (README, "servers.yaml reference"), name another with --config or MCP_GATEWAY_CONFIG, or in a container mount yours at this path'
        : String(error);
    return { ok: false, problems: [{ file, line: 1, col: 1, message: `cannot read config: ${reason}` }] };
  }
  return parseConfig(text, file, options);
}

/** Parses config text. `file` names it in problems and anchors relative paths. */
export function parseConfig(text: string, file: string, options: LoadOptions): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map(error => ({
        ...at(error.pos[0]),
        message:
          error.code === 'DUPLICATE_KEY'
            ? 'duplicate key: a server id or setting appears twice in the same mapping'
            : yamlMessage(error.message)
      }))
    };
  }

  let value: unknown;
  try {
    // Aliases are resolved here; an undefined alias or an alias bomb throws rather than erring.
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    return {
      ok: false,
      problems: [{ ...at(0), message: error instanceof Error ? error.message : String(error) }]
    };
  }
  const parsed = ConfigFileSchema.safeParse(value);
  if (!parsed.success) {
    // In the file's order, as a person reads and fixes them (zod reports in the schema's order).
    const located = parsed.error.issues.flatMap(issue => locateIssue(doc, issue, at));
    return { ok: false, problems: located.sort((a, b) => a.line - b.line || a.col - b.col) };
  }

  const raw = parsed.data;
  const warnings: string[] = [];
  const defaults = {
    idleTimeout: options.defaultIdleTimeout ?? raw.defaults.idleTimeout,
    callTimeout: raw.defaults.callTimeout
  };
  const servers: ServerSpec[] = [];
  const problems: ConfigProblem[] = [];
  for (const [id, server] of Object.entries(raw.servers)) {
    if (!server.enabled) continue;
    const spec = resolveServer(id, server, defaults, path.dirname(path.resolve(file)), options.env);
    if ('problem' in spec) {
      problems.push({ ...at(nodeOffset(doc, spec.path)), message: spec.problem });
      continue;
    }
    if (spec.unavailable) warnings.push(`server ${id} is unavailable: ${spec.unavailable}`);
    servers.push(spec);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { file, raw, servers, warnings } };
}

/**
 * The variables of a server's `envFile` (dotenv syntax, parsed by Node's `util.parseEnv`), or why
 * it cannot be read; a missing file makes only that server unavailable.
 */
function readEnvFile(
  file: string | undefined,
  baseDir: string
): { values: Record<string, string>; problem?: string } {
  if (file === undefined) return { values: {} };
  const full = path.resolve(baseDir, file);
  try {
    return { values: parseEnv(readFileSync(full, 'utf8')) as Record<string, string> };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { values: {}, problem: `env file ${full} cannot be read (${code ?? 'invalid'})` };
  }
}

/** The first line of a yaml error, without the code frame `prettyErrors` would add. */
function yamlMessage(message: string): string {
  return message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '') ?? message;
}

function resolveServer(
  id: string,
  server: ServerConfig,
  defaults: { idleTimeout: number; callTimeout: number },
  baseDir: string,
  environment: LoadOptions['env']
): ServerSpec | ConfigProblemAt {
  const missing = new Set<string>();
  const expand = (value: string) =>
    expandReferences(
      value,
      name => environment[name],
      name => missing.add(name)
    );
  let problem: string | undefined;
  const common = {
    id,
    description: server.description,
    namespace: server.namespace ?? id,
    idleTimeoutMs: Math.round((server.idleTimeout ?? defaults.idleTimeout) * 1000),
    callTimeoutMs: Math.round((server.callTimeout ?? defaults.callTimeout) * 1000),
    tools: server.tools ?? {},
    ...(server.prompts ? { prompts: server.prompts } : {}),
    ...(server.resources ? { resources: server.resources } : {}),
    maxConcurrency: server.maxConcurrency ?? 16,
    maxQueue: server.maxQueue ?? 64,
    trust: server.trust ?? 'auto'
  };
  const unavailable = () =>
    problem ??
    (missing.size === 0
      ? undefined
      : `environment variable${missing.size > 1 ? 's' : ''} ${[...missing].join(', ')} not set`);

  if (server.url !== undefined) {
    const remote = resolveRemote(id, server, server.url, baseDir, expand);
    if ('problem' in remote) return remote;
    if (remote.invalidUrl) problem = remote.invalidUrl;
    const { target } = remote;
    return {
      ...common,
      kind: 'remote',
      remote: target,
      unavailable: unavailable(),
      fingerprint: fingerprintOf({ kind: 'remote', remote: target })
    };
  }

  const fromFile = readEnvFile(server.envFile, baseDir);
  problem = fromFile.problem;
  // The file's variables first; `env` entries win over them.
  const env = {
    ...fromFile.values,
    ...Object.fromEntries(Object.entries(server.env ?? {}).map(([key, value]) => [key, expand(value)]))
  };
  const command = commandWords(server)?.map(expand);
  if (server.image === undefined) {
    // The schema guarantees a command when there is neither image nor url.
    const [program = '', ...args] = command ?? [];
    const cwd = server.cwd === undefined ? undefined : path.resolve(baseDir, server.cwd);
    const base = { kind: 'process', command: [program, ...args], env, cwd } as const;
    return { ...common, ...base, unavailable: unavailable(), fingerprint: fingerprintOf(base) };
  }
  const base = { kind: 'docker', image: server.image, command, env } as const;
  const limits = {
    network: server.network ?? 'none',
    memoryBytes: sizeInBytes(server.memory ?? '512m'),
    cpus: server.cpus ?? 1,
    pids: server.pids ?? 256,
    binds: (server.volumes ?? []).map(volume => {
      const [host = '', container = '', mode = 'ro'] = volume.split(':');
      return `${path.resolve(baseDir, host)}:${container}:${mode}`;
    }),
    user: server.user,
    readOnly: server.readOnly ?? false
  };
  return { ...common, ...base, limits, unavailable: unavailable(), fingerprint: fingerprintOf(base) };
}

/** A problem found while resolving one server, at the path of the key it is about. */
interface ConfigProblemAt {
  readonly problem: string;
  readonly path: readonly (string | number)[];
}

/**
 * A server's program and arguments as one list: `command` as a list, or as one program (a string)
 * followed by `args`, as MCP clients' own configs write them.
 */
function commandWords(server: ServerConfig): string[] | undefined {
  if (server.command === undefined) return undefined;
  // A string is one program: spaces around it are no part of its name.
  const head = typeof server.command === 'string' ? [server.command.trim()] : server.command;
  return [...head, ...(server.args ?? [])];
}

/**
 * A remote server's target: `${VAR}`s in its url, headers and clientSecret resolved, its `ca` file
 * read. An unreadable `ca` is a problem of the file (the server could never be trusted); a url that
 * a resolved variable made invalid only makes the server unavailable, like an unset variable.
 */
function resolveRemote(
  id: string,
  server: ServerConfig,
  url: string,
  baseDir: string,
  expand: (value: string) => string
): { target: RemoteTarget; invalidUrl?: string } | ConfigProblemAt {
  let ca: string | undefined;
  if (server.ca !== undefined) {
    const file = path.resolve(baseDir, server.ca);
    try {
      ca = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return {
        path: ['servers', id, 'ca'],
        problem: `ca: the CA file ${file} of server ${id} cannot be read (${code}); name a readable PEM file, relative to the config file`
      };
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      return {
        path: ['servers', id, 'ca'],
        problem: `ca: the CA file ${file} of server ${id} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`
      };
    }
  }
  const expanded = expand(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(expanded);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') parsed = undefined;
  } catch {
    parsed = undefined;
  }
  const target: RemoteTarget = {
    // Only for naming the server, which is unavailable (invalidUrl below): the schema's form of its
    // url, else a name that cannot resolve.
    url: parsed ?? placeholderUrl(url) ?? new URL('http://unresolved.invalid/'),
    transport: server.transport ?? transportOfType(server.type) ?? 'auto',
    headers: Object.fromEntries(
      Object.entries(server.headers ?? {}).map(([name, value]) => [name, expand(value)])
    ),
    ca,
    oauth:
      server.auth === 'oauth'
        ? {
            clientId: server.clientId,
            clientSecret: server.clientSecret === undefined ? undefined : expand(server.clientSecret),
            scope: server.scope,
            credentials: server.credentials ?? 'shared'
          }
        : undefined
  };
  if (parsed && (parsed.username !== '' || parsed.password !== '')) {
    // Named without them: the url is shown in /healthz and logs.
    target.url.username = '';
    target.url.password = '';
    return { target, invalidUrl: `once its variables are resolved, ${URL_USERINFO_PROBLEM}` };
  }
  return parsed
    ? { target }
    : { target, invalidUrl: `url ${url} is not an http(s) URL once its variables are resolved` };
}

/**
 * Turns a zod issue into located problems. The node at the issue's path gives the position; an
 * unknown key points at the key itself; a missing key points at the mapping that lacks it.
 */
function locateIssue(
  doc: Document,
  issue: z.core.$ZodIssue,
  at: (offset: number) => { file: string; line: number; col: number }
): ConfigProblem[] {
  const issuePath = issue.path.map(segment => (typeof segment === 'symbol' ? String(segment) : segment));
  const where = issuePath.length > 0 ? `${issuePath.join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map(key => {
      const hint = keyHint(issuePath, key);
      return {
        ...at(keyOffset(doc, issuePath, key)),
        message: `${where}unknown key "${key}"${hint === undefined ? '' : ` (${hint})`}`
      };
    });
  }
  if (issue.code === 'invalid_key') {
    const key = issuePath[issuePath.length - 1];
    return [
      {
        ...at(keyOffset(doc, issuePath.slice(0, -1), String(key))),
        message: `${where}${issue.issues[0]?.message ?? issue.message}`
      }
    ];
  }
  return [{ ...at(nodeOffset(doc, issuePath)), message: `${where}${issue.message}` }];
}

/** Offset of the deepest existing node along `keys`. */
function nodeOffset(doc: Document, keys: readonly PropertyKey[]): number {
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = doc.getIn(keys.slice(0, depth), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node.range[0];
  }
  return 0;
}

/** Offset of the key `key` in the mapping at `keys`, or of the mapping when the key is not found. */
function keyOffset(doc: Document, keys: readonly PropertyKey[], key: string): number {
  const map = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  if (isMap(map)) {
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) return pair.key.range[0];
    }
  }
  return nodeOffset(doc, keys);
}
