#!/usr/bin/env node
// The entry point. It imports nothing that needs Node.js 24 before checking for it: each
// command's module (node:sqlite, the SDK, express) is loaded only once the version is known good,
// so an older Node says what is wrong instead of failing on a missing built-in module.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Settings } from './settings.js';
import { VERSION } from './version.js';

/** The oldest Node.js major the gateway runs on (node:sqlite, among others). */
const NODE_MAJOR = 24;

const USAGE = `mcp-gateway ${VERSION}: one MCP endpoint in front of many MCP servers

Usage:
  mcp-gateway [serve] [options]     run the gateway (the default command)
  mcp-gateway validate [options]    check a servers.yaml and the settings, as serve would, and exit
  mcp-gateway token create --name NAME [--servers a,b] [--tools 'glob,...'] [--profile p,q] [--expires 90d] [--admin]
  mcp-gateway token list
  mcp-gateway token revoke NAME|ID
  mcp-gateway admin set-password    (reads it from a prompt, or the first line of stdin)
  mcp-gateway import FILE [--write] a client's mcpServers JSON as servers.yaml entries (stdout, or --write into --config)
  mcp-gateway connect claude-code|claude-desktop|cursor|vscode [--profile P] [--write [--file F]] [--token T | --create-token [--name N]]
  mcp-gateway login SERVER [--token T]   log the running gateway in to a remote server with auth: oauth (prints the URL to open)
  mcp-gateway logout SERVER [--token T]  make the running gateway forget that server's OAuth tokens
  mcp-gateway reload [--token T]          make the running gateway reload its servers.yaml (as SIGHUP does)
  mcp-gateway approve SERVER [ITEM...] [--token T]  approve what the running gateway holds of SERVER (changed or new definitions, its image)

Options (flags beat environment variables, which beat defaults):
  --config <file>          server registry        MCP_GATEWAY_CONFIG   ./servers.yaml
  --port <n>               listen port            GATEWAY_PORT         8000
  --host <addr>            listen address         GATEWAY_HOST         127.0.0.1
  --state-dir <dir>        catalog and state      STATE_DIR            ./data
  --log-level <level>      fatal..trace, silent   LOG_LEVEL            info
  --allowed-hosts <list>   extra Host names       GATEWAY_ALLOWED_HOSTS
  --allowed-origins <list> extra Origin hosts     GATEWAY_ALLOWED_ORIGINS
  --allow-unauthenticated  serve beyond loopback without auth   GATEWAY_ALLOW_UNAUTHENTICATED=true
  --reset-damaged-state    move a damaged gateway.db aside      GATEWAY_RESET_DAMAGED_STATE=true
  (environment only)       idle timeout default   DEFAULT_IDLE_TIMEOUT (seconds)
  (environment only)       shutdown drain         SHUTDOWN_DRAIN (seconds, 10)
  (environment only)       reload servers.yaml on change   GATEWAY_WATCH_CONFIG (true; false: only SIGHUP/reload)
  -h, --help, -v, --version

Exit status: 0 done; 78 a config or setting refused (validate and serve alike), or a
damaged state database; 2 a bad command line; 1 anything else.
`;

/** Flags every command accepts: the settings (see src/settings.ts), help and version. */
const SETTING_OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'state-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'allow-unauthenticated': { type: 'boolean' },
  'reset-damaged-state': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const satisfies ParseArgsOptionsConfig;

/** Flags of the token and admin commands. */
const TOKEN_OPTIONS = {
  name: { type: 'string' },
  servers: { type: 'string' },
  tools: { type: 'string' },
  profile: { type: 'string' },
  expires: { type: 'string' },
  admin: { type: 'boolean' }
} as const satisfies ParseArgsOptionsConfig;

/** Flags of `import` and `connect`. */
const CLIENT_OPTIONS = {
  write: { type: 'boolean' },
  file: { type: 'string' },
  token: { type: 'string' },
  'create-token': { type: 'boolean' }
} as const satisfies ParseArgsOptionsConfig;

const OPTIONS = { ...SETTING_OPTIONS, ...TOKEN_OPTIONS, ...CLIENT_OPTIONS } as const;

/** The flags as parsed: every command gets them all, and reads the ones it knows. */
export type Flags = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/**
 * What a command module's run function is given: its words (after the command's name), the flags,
 * the settings. Modules take it with `import type` only: importing this file runs the CLI.
 */
export type CommandRun = (words: readonly string[], flags: Flags, settings: Settings) => Promise<number>;

interface Command {
  /** Imports the command's module when it runs, never before. */
  readonly load: () => Promise<CommandRun>;
  /** Whether words may follow the command's name (`token create`); otherwise they are a usage error. */
  readonly takesWords?: boolean;
}

/** The commands, by their first word: a new command is one entry here and one module. */
const COMMANDS: Record<string, Command> = {
  serve: { load: async () => (await import('./serve-command.js')).runServe },
  validate: { load: async () => (await import('./validate-command.js')).runValidate },
  token: { load: async () => (await import('./admin-commands.js')).adminCli('token'), takesWords: true },
  admin: { load: async () => (await import('./admin-commands.js')).adminCli('admin'), takesWords: true },
  import: { load: async () => (await import('./import-command.js')).importCli, takesWords: true },
  connect: { load: async () => (await import('./connect-command.js')).connectCli, takesWords: true },
  login: { load: async () => (await import('./login-command.js')).loginCli('login'), takesWords: true },
  logout: { load: async () => (await import('./login-command.js')).loginCli('logout'), takesWords: true },
  reload: { load: async () => (await import('./reload-command.js')).reloadCli },
  approve: { load: async () => (await import('./approve-command.js')).approveCli, takesWords: true }
};

/**
 * `token revoke ID` with the ID read as a word even when it begins with "-": an OAuth grant's id
 * is base64url and does so one time in 64, and `token list` prints it for the person to paste
 * back. Moved after `--`, where util.parseArgs takes it as a positional; an option's name stays
 * an option (`token revoke --help`).
 */
function revokeTargetAsWord(argv: readonly string[]): string[] {
  const at = argv.findIndex((word, index) => word === 'revoke' && argv[index - 1] === 'token');
  const target = at < 0 ? undefined : argv[at + 1];
  if (target === undefined || !target.startsWith('-') || isOption(target)) return [...argv];
  return [...argv.slice(0, at + 1), ...argv.slice(at + 2), '--', target];
}

function isOption(word: string): boolean {
  if (word === '--') return true;
  const name = word.replace(/^--?/, '').split('=')[0]!;
  return Object.entries(OPTIONS).some(
    ([long, option]) => long === name || ('short' in option && option.short === name)
  );
}

async function main(argv: string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < NODE_MAJOR) {
    process.stderr.write(
      `mcp-gateway: Node.js ${NODE_MAJOR} or newer is needed; this is Node.js ${process.versions.node} (${process.execPath}). ` +
        `Install Node.js ${NODE_MAJOR} and run it with that node.\n`
    );
    return 1;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: revokeTargetAsWord(argv), allowPositionals: true, options: OPTIONS });
  } catch (error) {
    // Unknown flags, a missing flag value: util.parseArgs says which.
    process.stderr.write(`mcp-gateway: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [name = 'serve', ...words] = positionals;
  const command = COMMANDS[name];
  if (!command || (words.length > 0 && !command.takesWords)) {
    process.stderr.write(`mcp-gateway: unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const { resolveSettings, SettingsError, EXIT_CONFIG } = await import('./settings.js');
  let settings;
  try {
    settings = resolveSettings(values, process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`mcp-gateway: ${error.message}\n`);
    return EXIT_CONFIG;
  }
  const run = await command.load();
  return run(words, values, settings);
}

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
    // Anything still holding the loop (a stuck socket) must not keep a stopped gateway alive.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`mcp-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
);
