import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { CommandError, commandFailed, runAdminCommand, type TokenCreateOptions } from './admin-commands.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import { ConfigFileSchema } from './config/schema.js';
import { clientConfigFile } from './connect/client-config-file.js';
import {
  CLIENT_TITLES,
  CLIENTS,
  clientEntry,
  type ClientEntry,
  type ClientName
} from './connect/client-entry.js';
import { gatewayUrl } from './connect/gateway-url.js';
import { ClientFileError, mergeClientConfig } from './connect/merge-client-config.js';
import { writeWithBackup } from './files/write-with-backup.js';
import type { CommandRun } from './cli.js';
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
  /** The client file to write, instead of its usual place (implies `write`). */
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
    configFile: settings.configFile,
    stateDir: settings.stateDir,
    host: settings.host,
    port: settings.port,
    name: flags.name,
    servers: flags.servers,
    tools: flags.tools,
    profile: flags.profile,
    expires: flags.expires,
    client,
    // A file to write names where to write: it implies --write.
    write: flags.write === true || flags.file !== undefined,
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
  const config = await readConfig(options.configFile, io.err);
  const { gateway } = config;
  let url: string;
  try {
    url = gatewayUrl(gateway, { host: options.host, port: options.port });
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  // --profile P: the client uses the profile's URL, and a token made for it is bound to P.
  if (options.profile !== undefined) {
    const known = Object.keys(config.profiles);
    if (!known.includes(options.profile)) {
      throw new CommandError(
        `--profile: ${options.configFile} has no profile "${options.profile}" (${known.length > 0 ? `its profiles: ${known.join(', ')}` : 'it has no profiles: section'})`
      );
    }
    url = `${url}/${options.profile}`;
  }

  const mode = gateway.auth.mode;
  const name = client as ClientName;
  let token = options.token;
  if (mode === 'none') {
    if (token !== undefined || options.createToken) {
      io.err(
        `note: ${options.configFile} has gateway.auth.mode: none, so no token is needed; none is included\n`
      );
    }
    token = undefined;
  } else if (options.createToken && token !== undefined) {
    throw new CommandError('give either --token (or MCP_GATEWAY_TOKEN) or --create-token, not both');
  } else if (token === undefined && !options.createToken && mode === 'token') {
    throw new CommandError(
      `${options.configFile} has gateway.auth.mode: token, so ${client} needs a token: pass --token mgw_…, ` +
        'set MCP_GATEWAY_TOKEN, or add --create-token [--name N] to make one ' +
        '(an existing token cannot be shown again: only its hash is kept)'
    );
  } else if (token === undefined && !options.createToken) {
    io.err(
      mode === 'oauth'
        ? `note: gateway.auth.mode is oauth: ${client} logs in through the gateway's consent page on first use\n`
        : `note: gateway.auth.mode is oidc: ${client} needs your provider's access token, or a gateway token (--token)\n`
    );
  }
  if (token !== undefined && !token.startsWith(TOKEN_PREFIX)) {
    io.err(`note: the token does not start with ${TOKEN_PREFIX}, as the gateway's own tokens do\n`);
  }

  const file = options.write
    ? (options.file ??
      clientConfigFile(name, {
        home: homedir(),
        cwd: process.cwd(),
        platform: process.platform,
        appData: process.env.APPDATA
      }))
    : undefined;
  const existing = file !== undefined && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  // The client file is checked before a token is made, so a file that cannot take the entry
  // does not leave a new token whose secret nobody saw.
  if (file !== undefined) merge(existing, clientEntry(name, url, undefined), file);
  const created = mode !== 'none' && options.createToken;
  if (created) token = await createToken(options, client, io.stdin);

  const entry = clientEntry(name, url, token);
  if (file === undefined) {
    io.out(entry.text);
    io.err(`${entry.note}.\n`);
  } else {
    const merged = merge(existing, entry, file);
    let backup;
    try {
      // A new client file is its owner's; one holding a token is narrowed to its owner, even if it was wider.
      backup = writeWithBackup(file, merged.text, { mode: 0o600, ownerOnly: token !== undefined });
    } catch (error) {
      throw new CommandError((error as Error).message);
    }
    const previous = backup
      ? ` (the previous file${merged.droppedComments ? ', with its comments,' : ''} is ${backup})`
      : '';
    io.err(
      `${merged.replaced ? 'replaced the' : 'added a'} "gateway" entry in ${file}${previous}.\n` +
        `${entry.note}; restart ${CLIENT_TITLES[name]} (or reload its MCP servers) to pick it up.\n`
    );
  }
  if (created && token !== undefined) {
    const tokenName = options.name ?? client;
    io.err(
      name === 'vscode'
        ? `created token "${tokenName}": paste it when VS Code asks for it; it is shown only now:\n${token}\n`
        : `created token "${tokenName}"; its secret is only in ${file ?? 'the output above'} (the gateway keeps its hash)\n`
    );
  }
  return 0;
}

function merge(existing: string | undefined, entry: ClientEntry, file: string) {
  try {
    return mergeClientConfig(existing, entry, file);
  } catch (error) {
    if (error instanceof ClientFileError) throw new CommandError(error.message);
    throw error;
  }
}

/** The gateway section of the config; a missing file means the defaults. */
export async function readGatewaySettings(file: string, err: (text: string) => void) {
  return (await readConfig(file, err)).gateway;
}

/** The config as written (defaults applied); a missing file means the defaults. */
async function readConfig(file: string, err: (text: string) => void) {
  if (!existsSync(file)) {
    err(`note: no config at ${file}: assuming the defaults (127.0.0.1:8000, gateway.auth.mode: none)\n`);
    return ConfigFileSchema.parse({});
  }
  const result = await loadConfigFile(file, { env: process.env });
  if (!result.ok) {
    throw new CommandError(
      `${file} has problems; fix them (mcp-gateway validate) first:\n${result.problems.map(formatProblem).join('\n')}`
    );
  }
  return result.config.raw;
}

/**
 * How a command reaches the running gateway's API: the origin it serves at (from the config's
 * gateway section and the command line's host and port) and the admin token (`--token`, else
 * MCP_GATEWAY_TOKEN).
 */
export function runningGateway(
  gateway: Awaited<ReturnType<typeof readGatewaySettings>>,
  settings: { readonly host: string | undefined; readonly port: number | undefined },
  flags: { readonly token?: string | undefined }
): { origin: string; token: string | undefined } {
  let mcpUrl: string;
  try {
    mcpUrl = gatewayUrl(gateway, { host: settings.host, port: settings.port });
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  return {
    origin: mcpUrl.replace(/\/mcp$/, ''),
    token: flags.token ?? (process.env.MCP_GATEWAY_TOKEN || undefined)
  };
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
      profile: options.profile,
      expires: options.expires,
      stateDir: options.stateDir
    },
    { out: text => (printed += text), note: text => process.stderr.write(text), stdin }
  );
  const secret = printed.split('\n')[0]?.trim();
  if (!secret?.startsWith(TOKEN_PREFIX)) throw new Error('token create printed no token');
  return secret;
}

/** `connect` as the CLI runs it: a usage problem is exit 2, an unusable state database 78, said on stderr. */
export const connectCli: CommandRun = async (words, flags, settings) => {
  try {
    if (words.length > 1) throw new CommandError(`connect takes one client, got: ${words.join(' ')}`);
    return await runConnect(connectOptions(words[0], flags, settings, process.env), {
      out: text => process.stdout.write(text),
      err: text => process.stderr.write(text),
      stdin: process.stdin
    });
  } catch (error) {
    return commandFailed(error);
  }
};
