import path from 'node:path';
import { createInterface } from 'node:readline';
import { OAuthModelStore } from './http/oauth/oauth-model-store.js';
import { grantViews } from './http/oauth/grants.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import { PROFILE_NAME_PATTERN } from './config/schema.js';
import { EXIT_CONFIG } from './settings.js';
import { DATABASE_FILE, openDatabase } from './store/database.js';
import { AuditLog } from './store/audit-log.js';
import { SettingsStore } from './store/settings-store.js';
import { StoreError } from './store/store-error.js';
import { TokenStore, type TokenRecord } from './store/token-store.js';

/** Thrown for a bad argument to a token or admin command; the message is for the person typing. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/**
 * The exit status for a command that failed with `error`, said in one line on stderr: 2 for a bad
 * argument, 78 for a state database that cannot be used (as `serve` refuses one). Anything else
 * is rethrown.
 */
export function commandFailed(error: unknown): number {
  if (!(error instanceof CommandError) && !(error instanceof StoreError)) throw error;
  process.stderr.write(`mcp-gateway: ${error.message}\n`);
  return error instanceof StoreError ? EXIT_CONFIG : 2;
}

const SERVER_OR_GLOB = /^[A-Za-z0-9_*?-]+$/;

/** `90d`, `12h`, `30m`, `45s` → a date that far from now. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match)
    throw new CommandError(`--expires takes a number and a unit (s, m, h or d), e.g. 90d; got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const amount = Number(match[1]);
  if (amount <= 0) throw new CommandError('--expires must be more than 0');
  const at = new Date(now + amount * unit);
  // Past what a date can hold (about 270,000 years): refused, not an "Invalid time value" crash.
  if (Number.isNaN(at.getTime()))
    throw new CommandError(`--expires ${text} is further than a date can reach`);
  return at;
}

function list(text: string | undefined, what: string): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(',')
    .map(item => item.trim())
    .filter(item => item.length > 0);
  if (items.length === 0) throw new CommandError(`--${what} needs at least one entry`);
  for (const item of items) {
    if (!SERVER_OR_GLOB.test(item))
      throw new CommandError(`--${what}: "${item}" is not a server id or tool glob`);
  }
  return items;
}

/** The profile names of `--profile a,b` (checked as servers.yaml checks them), or undefined. */
function profiles(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text
    .split(',')
    .map(name => name.trim())
    .filter(name => name.length > 0);
  if (names.length === 0) throw new CommandError('--profile needs at least one profile name');
  for (const name of names) {
    if (!PROFILE_NAME_PATTERN.test(name)) {
      throw new CommandError(
        `--profile: "${name}" is not a profile name (1-32 of [a-z0-9_-], starting with a letter or digit, as under profiles: in servers.yaml)`
      );
    }
  }
  return names;
}

export interface TokenCreateOptions {
  readonly name?: string | undefined;
  readonly servers?: string | undefined;
  readonly tools?: string | undefined;
  /** Profiles the token is bound to (comma-separated): it reaches `/mcp/<profile>` of these only. */
  readonly profile?: string | undefined;
  readonly expires?: string | undefined;
  readonly admin?: boolean | undefined;
  /**
   * The servers.yaml whose `profiles:` the `profile` names must be in. Without it they are not
   * checked: `connect --profile` checks its one profile against the config itself first.
   */
  readonly configFile?: string | undefined;
}

function describe(token: TokenRecord, now = Date.now()): string {
  const state = token.revokedAt
    ? `revoked ${token.revokedAt}`
    : token.expiresAt && Date.parse(token.expiresAt) <= now
      ? `expired ${token.expiresAt}`
      : token.expiresAt
        ? `expires ${token.expiresAt}`
        : 'no expiry';
  const scope = [
    token.admin ? 'admin' : undefined,
    token.servers ? `servers ${token.servers.join(',')}` : undefined,
    token.tools ? `tools ${token.tools.join(',')}` : undefined,
    token.profiles ? `profiles ${token.profiles.join(',')}` : undefined
  ].filter(Boolean);
  return `${token.name}\t${token.id}\t${scope.length > 0 ? scope.join('; ') : 'all tools'}\t${state}\tlast used ${token.lastUsedAt ?? 'never'}`;
}

/**
 * Refuses `--profile` names that `configFile` does not define under `profiles:`, naming those it
 * does: a token bound to such a name would be refused at every URL.
 */
async function checkProfiles(names: readonly string[], configFile: string): Promise<void> {
  const loaded = await loadConfigFile(configFile, { env: process.env });
  if (!loaded.ok) {
    throw new CommandError(
      `--profile: the profiles are read from ${configFile}, which has problems; fix them (mcp-gateway validate) or name the config with --config:\n${loaded.problems.map(formatProblem).join('\n')}`
    );
  }
  const known = Object.keys(loaded.config.raw.profiles);
  const unknown = names.filter(name => !known.includes(name));
  if (unknown.length > 0) {
    throw new CommandError(
      `--profile: ${configFile} has no profile ${unknown.map(name => `"${name}"`).join(', ')} ` +
        `(${known.length > 0 ? `its profiles: ${known.join(', ')}` : 'it has no profiles: section'}); ` +
        'add it under profiles:, or name the config that has it with --config'
    );
  }
}

/**
 * `mcp-gateway token create|list|revoke` and `mcp-gateway admin set-password`, against the state
 * directory's database (the gateway may be running: SQLite serialises the writes). Output goes to
 * stdout; the new token's secret is printed once and never stored.
 */
export async function runAdminCommand(
  words: readonly string[],
  options: TokenCreateOptions & { stateDir: string },
  io: {
    out: (text: string) => void;
    /** Remarks for the person (stderr), kept apart from output a script captures. */
    note: (text: string) => void;
    stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  }
): Promise<number> {
  const [group, action, target] = words;
  const db = openDatabase(options.stateDir);
  const audit = new AuditLog(db);
  try {
    if (group === 'token' && action === 'create') {
      if (!options.name) throw new CommandError('token create needs --name NAME');
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.name)) {
        throw new CommandError('--name is 1-64 of letters, digits, ".", "_" and "-"');
      }
      const tokens = new TokenStore(db);
      if (tokens.get(options.name))
        throw new CommandError(`a token named "${options.name}" exists; revoke it or pick another name`);
      const bound = profiles(options.profile);
      if (bound !== undefined && options.configFile !== undefined) {
        await checkProfiles(bound, options.configFile);
      }
      const { secret, token } = tokens.create({
        name: options.name,
        servers: list(options.servers, 'servers'),
        tools: list(options.tools, 'tools'),
        profiles: bound,
        admin: options.admin,
        expiresAt: options.expires === undefined ? undefined : parseExpiry(options.expires)
      });
      audit.record('token_created', {
        principal: 'cli',
        detail: {
          name: token.name,
          id: token.id,
          admin: token.admin,
          ...(token.profiles ? { profiles: token.profiles } : {})
        }
      });
      // stdout is the secret alone, so that TOKEN=$(mcp-gateway token create …) works.
      io.out(`${secret}\n`);
      // The file named: a token made in another directory's ./data is unknown to the gateway.
      const file = path.resolve(options.stateDir, DATABASE_FILE);
      io.note(`# token "${token.name}" (${token.id}) in ${file}; shown once, only its hash is kept.\n`);
      return 0;
    }
    if (group === 'token' && action === 'list') {
      const tokens = new TokenStore(db).list();
      const grants = grantViews(new OAuthModelStore(db));
      if (tokens.length === 0 && grants.length === 0) io.out('no tokens\n');
      for (const token of tokens) io.out(`${describe(token)}\n`);
      for (const grant of grants) {
        io.out(
          `oauth:${grant.clientName ?? grant.clientId}\t${grant.id}\tOAuth grant for client ${grant.clientId}\tgranted ${grant.createdAt}\texpires ${grant.expiresAt ?? 'never'}\n`
        );
      }
      return 0;
    }
    if (group === 'token' && action === 'revoke') {
      if (!target) throw new CommandError('token revoke needs the token name or id (or an OAuth grant id)');
      if (words.length > 3) {
        throw new CommandError(
          `token revoke takes one name or id, and was given ${words.length - 2}: revoke them one at a time`
        );
      }
      if (new TokenStore(db).revoke(target)) {
        audit.record('token_revoked', { principal: 'cli', detail: { token: target } });
      } else if (new OAuthModelStore(db).revokeGrant(target)) {
        audit.record('grant_revoked', { principal: 'cli', detail: { grant: target } });
      } else {
        throw new CommandError(`no active token or OAuth grant "${target}"`);
      }
      io.out(`revoked ${target}\n`);
      return 0;
    }
    if (group === 'admin' && action === 'set-password') {
      const password = await readPassword(io);
      if (password.length < 12) throw new CommandError('the admin password must be at least 12 characters');
      await new SettingsStore(db).setAdminPassword(password);
      audit.record('admin_password_set', { principal: 'cli' });
      io.out('admin password set\n');
      return 0;
    }
    const subcommands = group === 'token' ? 'create --name NAME, list or revoke NAME_OR_ID' : 'set-password';
    throw new CommandError(
      action === undefined
        ? `${group} needs a subcommand: ${group} ${subcommands}`
        : `unknown command: ${words.join(' ')} (${group} takes ${subcommands})`
    );
  } finally {
    db.close();
  }
}

/**
 * The `token` or `admin` command (`group`) as the command line runs it, given the words after the
 * group's name: a bad argument is exit 2, an unusable state database 78 (see {@link commandFailed}).
 */
export function adminCli(group: 'token' | 'admin') {
  return async (
    words: readonly string[],
    flags: TokenCreateOptions,
    settings: { readonly stateDir: string; readonly configFile: string }
  ): Promise<number> => {
    try {
      return await runAdminCommand(
        [group, ...words],
        { ...flags, stateDir: settings.stateDir, configFile: settings.configFile },
        {
          out: text => process.stdout.write(text),
          note: text => process.stderr.write(text),
          stdin: process.stdin
        }
      );
    } catch (error) {
      return commandFailed(error);
    }
  };
}

/** The password from a prompt (twice, not echoed) on a terminal, or the first line of stdin otherwise. */
async function readPassword(io: {
  out: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}) {
  if (!io.stdin.isTTY) {
    let text = '';
    for await (const chunk of io.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  const ask = (question: string) =>
    new Promise<string>(resolve => {
      const rl = createInterface({ input: io.stdin, output: process.stderr, terminal: true });
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
      process.stderr.write(question);
      rl.question('', answer => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask('admin password: ');
  const second = await ask('again: ');
  if (first !== second) throw new CommandError('the passwords differ');
  return first;
}
