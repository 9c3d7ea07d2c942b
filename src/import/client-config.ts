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
      readonly transport: 'http' | 'sse';
      /** Header names only: their values may be secrets. */
      readonly headerNames: readonly string[];
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
  const type = entry.type;
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
  if (typeof url === 'string' && (type === undefined || typeof type === 'string')) {
    return {
      kind: 'remote',
      name,
      where,
      url,
      transport: type === 'sse' ? 'sse' : 'http',
      headerNames: isObject(entry.headers) ? Object.keys(entry.headers) : []
    };
  }
  return fail(
    where,
    `not a server entry this importer knows: it needs "command" (a local server, type "stdio") or "url" (a remote server)` +
      (type === undefined ? '' : `; its type is ${JSON.stringify(type)}`)
  );
}

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
