import { isObject } from '../connectors/is-object.js';
import { parseJsonc } from './jsonc.js';

/** A server as an MCP client's config file describes it, before any conversion. */
export type ClientServer =
  | {
      readonly kind: 'stdio';
      readonly name: string;
      /** Where in the file it was found, for messages: `mcpServers.github`. */
      readonly where: string;
      readonly command: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly envFile?: string | undefined;
      readonly cwd?: string | undefined;
    }
  | {
      readonly kind: 'remote';
      readonly name: string;
      readonly where: string;
      readonly url: string;
      /** The client's `type`/`transport` as servers.yaml names it; `auto` when it gave none. */
      readonly transport: 'auto' | 'streamable-http' | 'sse';
      /** As written: values may be secrets, which the import must not copy. */
      readonly headers: Readonly<Record<string, string>>;
    };

/** A VS Code `inputs` entry: a value the editor prompts for, referenced as `${input:id}`. */
export interface ClientInput {
  readonly id: string;
  readonly description?: string | undefined;
}

export interface ClientConfig {
  /** The shape recognised, for the summary. */
  readonly format: 'vscode' | 'mcpServers' | 'claude-code-user';
  readonly servers: readonly ClientServer[];
  readonly inputs: readonly ClientInput[];
}

/** A client config file that cannot be read as one; the message names the file and the place. */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}

/**
 * Reads the MCP servers of a Claude Desktop, Cursor, Claude Code (`.mcp.json`, `~/.claude.json`)
 * or VS Code (`.vscode/mcp.json`, or `settings.json` with `mcp.servers`) config file. `file`
 * only names it in errors. Unknown keys in an entry are ignored; an entry that is neither a
 * command nor a URL, or a file with none of the known shapes, is an error.
 */
export function readClientConfig(text: string, file: string): ClientConfig {
  let root: unknown;
  try {
    root = parseJsonc(text);
  } catch (error) {
    throw new ClientConfigError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(root)) {
    throw new ClientConfigError(`${file}: expected a JSON object with "mcpServers" or "servers"`);
  }
  const fail = (where: string, problem: string): never => {
    throw new ClientConfigError(`${file}: ${where}: ${problem}`);
  };

  // VS Code: `servers` (mcp.json) or `mcp.servers` (settings.json); Claude-style files never use `servers`.
  const vscode =
    root.mcpServers === undefined && root.servers !== undefined
      ? { servers: root.servers, inputs: root.inputs, at: 'servers' }
      : isObject(root.mcp) && root.mcp.servers !== undefined
        ? { servers: root.mcp.servers, inputs: root.mcp.inputs, at: 'mcp.servers' }
        : undefined;
  if (vscode) {
    return {
      format: 'vscode',
      servers: serversOf(vscode.servers, vscode.at, fail),
      inputs: inputsOf(vscode.inputs)
    };
  }

  if (root.mcpServers === undefined && root.projects === undefined) {
    throw new ClientConfigError(
      `${file}: no MCP servers found: expected "mcpServers" (Claude Desktop, Cursor, Claude Code's .mcp.json), ` +
        `"projects" (Claude Code's ~/.claude.json) or "servers" (VS Code's mcp.json) at the top level`
    );
  }
  const servers = root.mcpServers === undefined ? [] : [...serversOf(root.mcpServers, 'mcpServers', fail)];
  if (root.projects !== undefined) {
    if (!isObject(root.projects)) fail('projects', 'expected an object of project paths');
    // ~/.claude.json repeats a server in every project that uses it: an identical one is kept once.
    const seen = new Set(servers.map(server => JSON.stringify({ ...server, where: '' })));
    for (const [project, settings] of Object.entries(root.projects as Record<string, unknown>)) {
      if (!isObject(settings) || settings.mcpServers === undefined) continue;
      for (const server of serversOf(
        settings.mcpServers,
        `projects[${JSON.stringify(project)}].mcpServers`,
        fail
      )) {
        const key = JSON.stringify({ ...server, where: '' });
        if (seen.has(key)) continue;
        seen.add(key);
        servers.push(server);
      }
    }
  }
  return {
    format: root.projects === undefined ? 'mcpServers' : 'claude-code-user',
    servers,
    inputs: []
  };
}

function serversOf(
  value: unknown,
  at: string,
  fail: (where: string, problem: string) => never
): ClientServer[] {
  if (!isObject(value)) return fail(at, 'expected an object of server name to its settings');
  return Object.entries(value).map(([name, entry]) => serverOf(name, entry, `${at}.${name}`, fail));
}

function serverOf(
  name: string,
  entry: unknown,
  where: string,
  fail: (where: string, problem: string) => never
): ClientServer {
  if (!isObject(entry)) return fail(where, 'expected an object with "command" or "url"');
  // Claude Code and VS Code write `type`; some clients write `transport`.
  const type = entry.type ?? entry.transport;
  const url = entry.url ?? entry.serverUrl;
  if (typeof entry.command === 'string' && (type === undefined || type === 'stdio')) {
    return {
      kind: 'stdio',
      name,
      where,
      command: entry.command,
      args: strings(entry.args, `${where}.args`, fail),
      env: stringRecord(entry.env, `${where}.env`, fail),
      envFile: optionalString(entry.envFile, `${where}.envFile`, fail),
      cwd: optionalString(entry.cwd, `${where}.cwd`, fail)
    };
  }
  const transport = type === undefined ? 'auto' : REMOTE_TRANSPORTS.get(type);
  if (typeof url === 'string' && transport !== undefined) {
    return {
      kind: 'remote',
      name,
      where,
      url,
      transport,
      headers: stringRecord(entry.headers, `${where}.headers`, fail)
    };
  }
  return fail(
    where,
    `not a server entry this importer knows: it needs "command" (a local server, type "stdio") or "url" (a remote server, type "http", "streamable-http" or "sse")` +
      (type === undefined ? '' : `; its type is ${JSON.stringify(type)}`)
  );
}

/** A client's remote `type` and the servers.yaml `transport` it means. */
const REMOTE_TRANSPORTS: ReadonlyMap<unknown, 'streamable-http' | 'sse'> = new Map([
  ['http', 'streamable-http'],
  ['streamable-http', 'streamable-http'],
  ['streamableHttp', 'streamable-http'],
  ['sse', 'sse']
] as const);

function strings(value: unknown, where: string, fail: (where: string, problem: string) => never): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(where, 'expected a list of strings');
  return value.map((item, index) =>
    typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean'
      ? String(item)
      : fail(`${where}[${index}]`, 'expected a string')
  );
}

function stringRecord(
  value: unknown,
  where: string,
  fail: (where: string, problem: string) => never
): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) return fail(where, 'expected an object of variable name to value');
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean'
        ? String(item)
        : fail(`${where}.${key}`, 'expected a string')
    ])
  );
}

function optionalString(
  value: unknown,
  where: string,
  fail: (where: string, problem: string) => never
): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : fail(where, 'expected a string');
}

function inputsOf(value: unknown): ClientInput[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap(input =>
    isObject(input) && typeof input.id === 'string'
      ? [{ id: input.id, description: typeof input.description === 'string' ? input.description : undefined }]
      : []
  );
}
