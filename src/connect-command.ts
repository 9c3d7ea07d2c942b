import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { CommandError, runAdminCommand, type TokenCreateOptions } from './admin-commands.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import { ConfigFileSchema } from './config/schema.js';
import { clientConfigFile } from './connect/client-config-file.js';
import { CLIENTS, clientEntry, type ClientName } from './connect/client-entry.js';
import { gatewayUrl } from './connect/gateway-url.js';
import { ClientFileError, mergeClientConfig } from './connect/merge-client-config.js';
import { writeWithBackup } from './files/write-with-backup.js';
import type { Settings } from './settings.js';
import { TOKEN_PREFIX } from './store/token-store.js';

export interface ConnectOptions extends TokenCreateOptions {
  readonly client: string | undefined;
  readonly configFile: string;
  readonly stateDir: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** Write the client's file instead of printing. */
  readonly write: boolean;
  /** The client file to write, instead of its usual place. */
  readonly file: string | undefined;
  /** `--token`, else `MCP_GATEWAY_TOKEN`. */
  readonly token: string | undefined;
  /** Make a new token (named by `name`, scoped by `servers`/`tools`/`expires`). */
  readonly createToken: boolean;
}

/** The options of `connect` from the command line's flags and the resolved settings. */
export function connectOptions(
  client: string | undefined,
  flags: TokenCreateOptions & { write?: boolean; file?: string; token?: string; 'create-token'?: boolean },
  settings: Pick<Settings, 'configFile' | 'stateDir' | 'host' | 'port'>,
  env: Readonly<Record<string, string | undefined>>
): ConnectOptions {
  return {
    ...settings,
    name: flags.name,
    servers: flags.servers,
    tools: flags.tools,
    expires: flags.expires,
    client,
    write: flags.write === true,
    file: flags.file,
    token: flags.token ?? (env.MCP_GATEWAY_TOKEN || undefined),
    createToken: flags['create-token'] === true
  };
}

/**
 * `mcp-gateway connect CLIENT`: the client configuration for this gateway, printed on stdout, or
 * with `--write` merged into the client's file (other entries kept, the old file kept as `.bak`).
 * A token is included when one is given or created: the gateway keeps only tokens' hashes, so it
 * can never print an existing one.
 */
export async function runConnect(
  options: ConnectOptions,
  io: { out: (text: string) => void; err: (text: string) => void; stdin: NodeJS.ReadableStream }
): Promise<number> {
  const client = options.client;
  if (!client || !(CLIENTS as readonly string[]).includes(client)) {
    throw new CommandError(
      `connect needs the client: mcp-gateway connect ${CLIENTS.join('|')} [--write] [--file F] [--token T | --create-token]` +
        (client ? ` (got "${client}")` : '')
    );
  }
  const gateway = await gatewaySettings(options.configFile, io.err);
  let url: string;
  try {
    url = gatewayUrl(gateway, { host: options.host, port: options.port });
  } catch (error) {
    throw new CommandError((error as Error).message);
  }

  const mode = gateway.auth.mode;
  let token = options.token;
  if (mode === 'none') {
    if (token !== undefined || options.createToken) {
      io.err(
        `note: ${options.configFile} has gateway.auth.mode: none, so no token is needed; none is included\n`
      );
    }
    token = undefined;
  } else if (options.createToken) {
    if (token !== undefined)
      throw new CommandError('give either --token (or MCP_GATEWAY_TOKEN) or --create-token, not both');
    token = await createToken(options, client, io.stdin);
    io.err(
      `created token "${options.name ?? client}"; its secret is only in this output (the gateway keeps its hash)\n`
    );
  } else if (token === undefined && mode === 'token') {
    throw new CommandError(
      `${options.configFile} has gateway.auth.mode: token, so ${client} needs a token: pass --token mgw_…, ` +
        'set MCP_GATEWAY_TOKEN, or add --create-token [--name N] to make one ' +
        '(an existing token cannot be shown again: only its hash is kept)'
    );
  } else if (token === undefined) {
    io.err(
      mode === 'oauth'
        ? `note: gateway.auth.mode is oauth: ${client} logs in through the gateway's consent page on first use\n`
        : `note: gateway.auth.mode is oidc: ${client} needs your provider's access token, or a gateway token (--token)\n`
    );
  }
  if (token !== undefined && !token.startsWith(TOKEN_PREFIX)) {
    io.err(`note: the token does not start with ${TOKEN_PREFIX}, as the gateway's own tokens do\n`);
  }

  const entry = clientEntry(client as ClientName, url, token);
  if (!options.write) {
    io.out(entry.text);
    io.err(`${entry.note}.\n`);
    return 0;
  }
  const file =
    options.file ??
    clientConfigFile(client as ClientName, {
      home: homedir(),
      cwd: process.cwd(),
      platform: process.platform,
      appData: process.env.APPDATA
    });
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  let merged;
  try {
    merged = mergeClientConfig(existing, entry, file);
  } catch (error) {
    if (error instanceof ClientFileError) throw new CommandError(error.message);
    throw error;
  }
  // A file holding a token is for its owner only.
  let backup;
  try {
    backup = writeWithBackup(file, merged.text, 0o600);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  io.err(
    `${merged.replaced ? 'replaced the' : 'added a'} "gateway" entry in ${file}` +
      `${backup ? ` (the previous file is ${backup}${merged.droppedComments ? ', with its comments' : ''})` : ''}.\n` +
      `${entry.note}; restart ${client} (or reload its MCP servers) to pick it up.\n`
  );
  return 0;
}

/** The gateway section of the config; a missing file means the defaults. */
async function gatewaySettings(file: string, err: (text: string) => void) {
  if (!existsSync(file)) {
    err(`note: no config at ${file}: assuming the defaults (127.0.0.1:8000, gateway.auth.mode: none)\n`);
    return ConfigFileSchema.parse({}).gateway;
  }
  const result = await loadConfigFile(file, { env: process.env });
  if (!result.ok) {
    throw new CommandError(
      `${file} has problems; fix them (mcp-gateway validate) first:\n${result.problems.map(formatProblem).join('\n')}`
    );
  }
  return result.config.raw.gateway;
}

/** A new token made as `token create` makes one; the secret is the first line that command prints. */
async function createToken(
  options: ConnectOptions,
  client: string,
  stdin: NodeJS.ReadableStream
): Promise<string> {
  let printed = '';
  await runAdminCommand(
    ['token', 'create'],
    {
      name: options.name ?? client,
      servers: options.servers,
      tools: options.tools,
      expires: options.expires,
      stateDir: options.stateDir
    },
    { out: text => (printed += text), stdin }
  );
  const secret = printed.split('\n')[0]?.trim();
  if (!secret?.startsWith(TOKEN_PREFIX)) throw new Error('token create printed no token');
  return secret;
}
