import path from 'node:path';
import type { z } from 'zod';
import { ServerConfigSchema } from '../config/schema.js';
import type { ClientConfig, ClientServer } from './client-config.js';
import { parseDockerRun, type DockerRun } from './docker-run.js';
import {
  convertPlaceholders,
  variableName,
  type PlaceholderContext,
  type VariableReference
} from './placeholders.js';
import { toServerId } from './server-id.js';

/** A servers.yaml entry as written (before defaults). */
export type ServerEntry = z.input<typeof ServerConfigSchema>;

/** A variable the imported entries refer to, which the gateway's environment must provide. */
export interface NeededVariable {
  readonly name: string;
  /** The server ids that use it. */
  readonly servers: readonly string[];
  /** Where its value is to be found, for the person setting it. */
  readonly hint: string;
}

export interface ImportPlan {
  readonly entries: readonly {
    readonly id: string;
    readonly from: ClientServer;
    readonly entry: ServerEntry;
  }[];
  readonly variables: readonly NeededVariable[];
  /** What was changed or left out on the way, one line each, naming the server. */
  readonly notes: readonly string[];
}

export interface PlanContext extends Omit<PlaceholderContext, 'bareIsEnvironment'> {
  /** The imported file, as the person named it: in hints and notes. */
  readonly file: string;
}

/**
 * Variables a local process gets from the gateway itself (the SDK's safe list): a client's value
 * for them is dropped rather than turned into a variable the user would have to set.
 */
const INHERITED = new Set(['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LOGNAME']);
/** Variables the gateway reads for itself: a server's value must not be set under these names. */
const GATEWAY_OWN = /^(?:GATEWAY_\w+|MCP_GATEWAY_\w+|LOG_LEVEL|STATE_DIR|DEFAULT_IDLE_TIMEOUT|DOCKER_HOST)$/;

/** Option names whose value is taken for a secret when written out in an argument. */
const SECRET_OPTION = /token|secret|passw|api[-_]?key|apikey|auth|credential|header/i;
/** Values that look like well-known credentials wherever they appear. */
const SECRET_VALUE = /^(?:gh[pousr]_|github_pat_|sk-|sk_live_|xox[abpr]-|glpat-|mgw_|AKIA[0-9A-Z]{12})/;
/** A URL with a password in it (`postgresql://user:password@host/db`). */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:[^/@\s]+@/i;
/** Header names whose value is taken for a secret (`Authorization`, `X-API-Key`, `Cookie`…). */
const SECRET_HEADER = /token|secret|passw|key|auth|credential|cookie|session/i;
/** An HTTP credential with its scheme: the scheme is kept, the credential replaced. */
const WITH_SCHEME = /^(Bearer|Basic|Token|Digest)(\s+)(\S.*)$/is;

/**
 * Turns a client's servers into servers.yaml entries. Commands become local processes,
 * `docker run` commands Docker servers (`image:`), URLs remote servers (`url:`). No value that may
 * be a secret is kept: every `env` value, and any argument, header or URL part that looks like a
 * credential, becomes a `${NAME}` reference, and `variables` says which names the gateway needs.
 * Every entry passes servers.yaml's schema; one that would not is left out, with a note saying why.
 */
export function planImport(config: ClientConfig, context: PlanContext): ImportPlan {
  const planned = new Set<string>();
  const notes: string[] = [];
  const variables = new VariableBook();
  const entries: { id: string; from: ClientServer; entry: ServerEntry }[] = [];
  const inputs = new Map(config.inputs.map(input => [input.id, input.description]));
  const fileName = path.basename(context.file);
  const placeholders = { ...context, bareIsEnvironment: config.format !== 'vscode' };
  /**
   * Converted placeholders. `${NAME:-default}` keeps its default (servers.yaml reads the same),
   * unless it may be a credential: the value is one (`secret`), the name is named like one, or the
   * default is shaped like a key; no secret is copied, so that default is dropped and said.
   */
  const placeheld = (value: string, secret: boolean) =>
    convertPlaceholders(value, {
      ...placeholders,
      keepsDefault: (name, fallback) =>
        !secret && !SECRET_OPTION.test(name) && !looksLikeKey(fallback) && !URL_WITH_PASSWORD.test(fallback)
    });

  for (const server of config.servers) {
    const id = toServerId(server.name, new Set([...planned]));
    planned.add(id);
    if (id !== server.name) {
      const why =
        toServerId(server.name, new Set()) === server.name
          ? `another server in ${fileName} is called "${server.name}" too`
          : 'a server id is 1-32 of a-z, 0-9 and -';
      notes.push(`${server.name}: imported as "${id}" (${why})`);
    }
    /** A value converted, its references recorded; a literal that looks like a secret is replaced. */
    const convert = (value: string, secretName?: string): string => {
      const converted = placeheld(value, secretName !== undefined);
      for (const unknown of converted.unknown) {
        notes.push(`${id}: ${unknown} in "${value}" is not a placeholder the gateway knows; left as it is`);
      }
      for (const reference of converted.references) {
        variables.refer(reference.name, id, referenceHint(reference, inputs, fileName));
      }
      if (secretName !== undefined && converted.references.length === 0 && value !== '') {
        const name = variables.literal(
          variableName(secretName),
          value,
          id,
          `a value written in ${fileName}; not copied`
        );
        return `\${${name}}`;
      }
      return converted.text;
    };
    /** An env value: always a reference, whatever it was. */
    const envValue = (
      key: string,
      value: string | undefined,
      where = `${server.where}.env.${key}`
    ): string => {
      if (value === undefined) {
        variables.refer(key, id, 'the client passed it on from its own environment');
        return `\${${key}}`;
      }
      const secret = SECRET_OPTION.test(key) ? key : undefined;
      const converted = placeheld(value, secret !== undefined);
      // One placeholder, with or without its default: kept as a reference.
      if (converted.references.length === 1 && /^\$\{[^}]*\}$/.test(converted.text)) {
        return convert(value, secret);
      }
      const name = variables.literal(
        key,
        converted.references.length === 0 ? value : undefined,
        id,
        converted.references.length === 0
          ? `its value is in ${fileName} (${where}); not copied`
          : `${fileName} builds it as "${value}"; set the whole value`
      );
      return `\${${name}}`;
    };
    const location = (file: string) => path.resolve(context.workspaceFolder, convert(file));
    /** An entry kept only when servers.yaml accepts it: what `validate` would refuse is left out. */
    const add = (entry: ServerEntry): boolean => {
      const checked = ServerConfigSchema.safeParse(entry);
      if (checked.success) {
        entries.push({ id, from: server, entry });
        return true;
      }
      // Worded as load-config words them: a bad key's own message rather than zod's "Invalid key".
      const problems = checked.error.issues.map(
        issue =>
          `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}` +
          `${issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message}`
      );
      notes.push(`${id}: not imported: ${problems.join('; ')} (${server.where} in ${fileName})`);
      return false;
    };

    if (server.kind === 'remote') {
      // The URL's user:password, as a Basic credential: a variable to set by hand, never copied.
      const basicAuth = () =>
        `\${${variables.literal(
          variableName(`${id}_BASIC_AUTH`),
          undefined,
          id,
          `the base64 of the user:password in the url in ${fileName} (printf '%s' 'user:password' | base64); sent as Authorization: Basic, since a url cannot carry them; not copied`
        )}}`;
      const remote = remoteEntry(id, server, convert, basicAuth);
      if (!add(remote.entry)) continue;
      if (remote.urlSecrets.length > 0) {
        notes.push(
          `${id}: credentials in its URL not copied: set ${remote.urlSecrets.join(', ')} (listed below)`
        );
      }
      if (!remote.credentials) {
        // Such clients log in themselves (OAuth); the gateway does it only when told to.
        notes.push(
          `${id}: no credentials in ${fileName}; if it answers HTTP 401, add auth: oauth to it and run mcp-gateway login ${id}`
        );
      }
      continue;
    }
    const docker = parseDockerRun(server.command, server.args);
    if (docker) {
      add(dockerEntry(id, server, docker, { convert, envValue, location, notes }));
      continue;
    }
    const entry: ServerEntry = {
      command: [convert(server.command), ...secretsInArgs(id, server.args, convert)]
    };
    const inherited = Object.keys(server.env).filter(key => INHERITED.has(key));
    if (inherited.length > 0) {
      notes.push(`${id}: env ${inherited.join(', ')} not imported: a local process gets the gateway's own`);
    }
    const env = Object.fromEntries(
      Object.entries(server.env)
        .filter(([key]) => !INHERITED.has(key))
        .map(([key, value]) => [key, envValue(key, value)])
    );
    if (Object.keys(env).length > 0) entry.env = env;
    if (server.envFile !== undefined) entry.envFile = location(server.envFile);
    if (server.cwd !== undefined) entry.cwd = location(server.cwd);
    add(entry);
  }
  return { entries, variables: variables.list(), notes };
}

function referenceHint(
  reference: VariableReference,
  inputs: ReadonlyMap<string, string | undefined>,
  fileName: string
): string {
  if (reference.source === 'environment') {
    const { fallback } = reference;
    if (fallback === undefined) return 'the client read it from its environment';
    return fallback.kept
      ? `the client read it from its environment; unset or empty, it is "${fallback.text}", the default in ${fileName} (kept)`
      : `the client read it from its environment; its default in ${fileName} may be a credential: not copied`;
  }
  const description = inputs.get(reference.input ?? '');
  return `VS Code prompted for it (input "${reference.input}"${description ? `: ${description}` : ''})`;
}

/**
 * Arguments with credentials replaced: the value of an option named like a secret
 * (`--api-key X`, `--token=X`), any value shaped like a known token, and a URL with a password.
 */
function secretsInArgs(
  id: string,
  args: readonly string[],
  convert: (value: string, secretName?: string) => string
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const option = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    if (option && SECRET_OPTION.test(option[1]!)) {
      if (option[2] !== undefined) {
        out.push(`${arg.slice(0, arg.indexOf('=') + 1)}${convert(option[2], option[1])}`);
        continue;
      }
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        out.push(arg, convert(next, option[1]));
        i++;
        continue;
      }
    }
    if (SECRET_VALUE.test(arg)) out.push(convert(arg, `${id}_SECRET`));
    else if (URL_WITH_PASSWORD.test(arg)) out.push(convert(arg, `${id}_URL`));
    else out.push(convert(arg));
  }
  return out;
}

/**
 * A remote server as servers.yaml's `url:` entry. The client's `http` is `streamable-http`; no
 * type is `auto`, the default, so left out. A credential in a header (by its name, or a known
 * token shape) or in the URL (see `secretsInUrl`) becomes a reference; `Bearer`/`Basic` stay, so
 * only the credential itself is to be set. `credentials` says whether any value was one (written
 * out or already a reference), so the note about logging in is said only of a server without.
 */
function remoteEntry(
  id: string,
  server: ClientServer & { kind: 'remote' },
  convert: (value: string, secretName?: string) => string,
  basicAuth: () => string
): { entry: ServerEntry; urlSecrets: readonly string[]; credentials: boolean } {
  // A user name and password in the URL (which requests cannot send) become a Basic header.
  const userinfo = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/i.exec(server.url);
  const url = secretsInUrl(
    id,
    userinfo ? userinfo[1]! + server.url.slice(userinfo[0].length) : server.url,
    convert
  );
  const entry: ServerEntry = { url: url.text };
  if (server.transport !== 'auto') entry.transport = server.transport;
  let credentials = url.credentials;
  const basic =
    userinfo && !Object.keys(server.headers).some(name => name.toLowerCase() === 'authorization')
      ? basicAuth()
      : undefined;
  if (basic !== undefined) credentials = true;
  const headers = Object.entries(server.headers).map(([name, value]): [string, string] => {
    const scheme = WITH_SCHEME.exec(value);
    const credential = scheme ? scheme[3]! : value;
    if (!scheme && !SECRET_HEADER.test(name) && !SECRET_VALUE.test(value)) return [name, convert(value)];
    credentials = true;
    const converted = convert(credential, `${id}_${name}`);
    return [name, scheme ? `${scheme[1]}${scheme[2]}${converted}` : converted];
  });
  if (basic !== undefined) headers.push(['Authorization', `Basic ${basic}`]);
  if (headers.length > 0) entry.headers = Object.fromEntries(headers);
  return { entry, urlSecrets: url.secrets, credentials };
}

/** A UUID: as often a secret link (n8n, Zapier-style URLs) as a public id, and import cannot tell. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Words of a query parameter's name that mark its value a secret (`?key=`, `?sig=`, `?accessKey=`). */
const SECRET_QUERY_WORD = new Set(['key', 'sig', 'signature', 'pass', 'pwd', 'session', 'sid']);

/**
 * Whether a URL path segment or query value is a key by its shape: a known token prefix (`sk-`,
 * `ghp_`…), a UUID, or a run of 16+ letters and digits that switches between letters and digits
 * at least 3 times (a hex or base62 key; `mcpserver2024edition` switches twice and is kept).
 */
function looksLikeKey(text: string): boolean {
  if (SECRET_VALUE.test(text) || UUID.test(text)) return true;
  return [...text.matchAll(/[A-Za-z0-9]{16,}/g)].some(
    ([run]) => (run.match(/[A-Za-z](?=\d)|\d(?=[A-Za-z])/g)?.length ?? 0) >= 3
  );
}

/** A query parameter named like a secret: `api_key`, `token`, `key`, `sig`, `accessKey`… */
function secretQueryName(name: string): boolean {
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return SECRET_OPTION.test(name) || words.some(word => SECRET_QUERY_WORD.has(word));
}

/**
 * A URL with its credentials replaced by references named after the server (its user name and
 * password were taken out before, see `basicCredential`): a path segment that `looksLikeKey` (`ID_URL_KEY`, then `ID_URL_KEY_2`…), and
 * the value of a query parameter named like a secret or shaped like a key (`ID_<PARAMETER>`).
 * Ordinary segments (`/mcp`, `/sse`, `/v1`, `/2024-11-05`) and placeholders are kept as they are.
 * `secrets` names the variables for the values written out; `credentials` is whether any part was one.
 */
function secretsInUrl(
  id: string,
  url: string,
  convert: (value: string, secretName?: string) => string
): { text: string; secrets: string[]; credentials: boolean } {
  const found: { start: number; end: number; name: string }[] = [];
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url)?.[0].length ?? 0;
  const pathEnd = url.slice(authority).search(/[?#]/);
  const pathText = url.slice(authority, pathEnd === -1 ? url.length : authority + pathEnd);
  let keys = 0;
  for (const segment of pathText.matchAll(/[^/]+/g)) {
    if (segment[0].includes('${') || !looksLikeKey(decoded(segment[0]))) continue;
    keys++;
    const start = authority + segment.index;
    found.push({ start, end: start + segment[0].length, name: `${id}_URL_KEY${keys > 1 ? `_${keys}` : ''}` });
  }
  for (const query of url.matchAll(/[?&]([^=&#]+)=([^&#]+)/g)) {
    const value = query[2]!;
    const keyShaped = !value.includes('${') && looksLikeKey(decoded(value));
    if (!secretQueryName(decoded(query[1]!)) && !keyShaped) continue;
    const start = query.index + query[0].length - value.length;
    found.push({ start, end: start + value.length, name: `${id}_${query[1]!}` });
  }
  let text = '';
  let at = 0;
  const secrets: string[] = [];
  for (const { start, end, name } of found) {
    const value = url.slice(start, end);
    const reference = convert(value, name);
    // A value that already was a placeholder stays one; only a written-out value is a new variable.
    if (!value.includes('${')) secrets.push(reference.slice(2, -1));
    text += convert(url.slice(at, start)) + reference;
    at = end;
  }
  return { text: text + convert(url.slice(at)), secrets, credentials: found.length > 0 };
}

/** A URL part with its %-escapes decoded; as it is when they are not valid. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function dockerEntry(
  id: string,
  server: ClientServer & { kind: 'stdio' },
  docker: DockerRun,
  tools: {
    convert: (value: string, secretName?: string) => string;
    envValue: (key: string, value: string | undefined, where?: string) => string;
    location: (file: string) => string;
    notes: string[];
  }
): ServerEntry {
  const { convert, envValue, location, notes } = tools;
  const entry: ServerEntry = { image: convert(docker.image) };
  const command = secretsInArgs(id, docker.command, convert);
  if (command.length > 0) entry.command = command;
  const env: Record<string, string> = {};
  for (const { key, value } of docker.env) {
    // `-e KEY` hands the container the docker command's own KEY, which the client set in `env`.
    env[key] =
      value === undefined
        ? envValue(key, server.env[key])
        : envValue(key, value, `-e ${key}=… in ${server.where}.args`);
  }
  if (Object.keys(env).length > 0) entry.env = env;
  const unused = Object.keys(server.env).filter(key => !docker.env.some(e => e.key === key));
  if (unused.length > 0) {
    notes.push(
      `${id}: env ${unused.join(', ')} set the docker command's environment, not the container's: not imported`
    );
  }
  const [envFile, ...moreEnvFiles] = docker.envFiles;
  if (envFile !== undefined) entry.envFile = location(envFile);
  if (moreEnvFiles.length > 0)
    notes.push(`${id}: only the first --env-file is kept (servers.yaml takes one envFile)`);
  const volumes = docker.volumes.flatMap(volume => {
    const converted = convert(volume);
    const [host = '', container = '', mode = ''] = converted.split(':');
    if (!host.startsWith('/') || !container.startsWith('/')) {
      notes.push(`${id}: volume ${volume} is not a bind mount of an absolute host path; left out`);
      return [];
    }
    // docker mounts read-write unless told otherwise; the gateway's default is read-only, so say it.
    return [`${host}:${container}:${mode.split(',').includes('ro') ? 'ro' : 'rw'}`];
  });
  if (volumes.length > 0) entry.volumes = volumes;
  // `docker run` gives a container the bridge network by default; the gateway gives none.
  entry.network = docker.network ?? 'bridge';
  if (docker.network === undefined) {
    notes.push(`${id}: network: bridge, as docker run gave it; set network: none if it needs no network`);
  }
  if (docker.user !== undefined) entry.user = docker.user;
  if (docker.memory !== undefined) entry.memory = docker.memory;
  if (docker.cpus !== undefined && Number.isFinite(Number(docker.cpus))) entry.cpus = Number(docker.cpus);
  if (docker.pids !== undefined && Number(docker.pids) > 0) entry.pids = Number(docker.pids);
  if (docker.readOnly) entry.readOnly = true;
  if (docker.ignored.length > 0) {
    notes.push(`${id}: docker options with no servers.yaml key left out: ${docker.ignored.join(' ')}`);
  }
  return entry;
}

/**
 * The variables the entries need. A literal value gets its own name; when two servers had the
 * same name with different values, the later one is prefixed with its server id (`ID_NAME`) so
 * neither gets the other's value. So is a name the gateway reads for itself (`LOG_LEVEL`): setting
 * it for the server would change the gateway.
 */
class VariableBook {
  private readonly byName = new Map<
    string,
    { value?: string | undefined; servers: string[]; hints: string[] }
  >();

  /** A reference to a variable the client itself read from somewhere. */
  refer(name: string, server: string, hint: string): string {
    return this.add(name, undefined, server, hint);
  }

  /** A value from the file that must not be copied: returns the variable name to use for it. */
  literal(name: string, value: string | undefined, server: string, hint: string): string {
    const existing = this.byName.get(name);
    if (GATEWAY_OWN.test(name) || (existing && (value === undefined || existing.value !== value))) {
      return this.add(`${variableName(server)}_${name}`, value, server, hint);
    }
    return this.add(name, value, server, hint);
  }

  private add(name: string, value: string | undefined, server: string, hint: string): string {
    const entry = this.byName.get(name) ?? { value, servers: [], hints: [] };
    if (!entry.servers.includes(server)) entry.servers.push(server);
    if (!entry.hints.includes(hint)) entry.hints.push(hint);
    this.byName.set(name, entry);
    return name;
  }

  list(): NeededVariable[] {
    return [...this.byName].map(([name, { servers, hints }]) => ({ name, servers, hint: hints.join('; ') }));
  }
}
