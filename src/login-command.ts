import { CommandError, commandFailed } from './admin-commands.js';
import { readGatewaySettings, runningGateway } from './connect-command.js';
import type { CommandRun } from './cli.js';

/** How long `login` waits for the browser to come back; the gateway drops the login then too. */
const LOGIN_WAIT_MS = 10 * 60_000;

export interface LoginOptions {
  /** `login` or `logout`. */
  readonly action: 'login' | 'logout';
  readonly server: string;
  /** The gateway's origin, e.g. http://127.0.0.1:8000. */
  readonly gateway: string;
  /** An admin token of the gateway (`--token`, `MCP_GATEWAY_TOKEN`), when its auth is on. */
  readonly token: string | undefined;
  /** How often `login` asks whether the browser has come back. */
  readonly pollMs?: number;
  readonly waitMs?: number;
}

/** The gateway could not be reached, refused, or the login failed: exit 1, the message on stderr. */
class LoginError extends Error {
  override readonly name = 'LoginError';
}

interface LoginAnswer {
  readonly authorizationUrl?: string;
  readonly forgotten?: boolean;
  readonly loggedIn: boolean;
  readonly login: { readonly state: string; readonly error?: string };
}

/**
 * `mcp-gateway login SERVER`: asks the running gateway to start an OAuth login to the remote
 * server, prints the authorization URL (stdout) to open in a browser, and waits until the
 * browser has come back to the gateway's callback: 0 when the gateway holds tokens, 1 when the
 * login failed (the reason on stderr). `logout SERVER` makes the gateway forget the tokens.
 */
export async function runLogin(
  options: LoginOptions,
  io: { out: (text: string) => void; err: (text: string) => void }
): Promise<number> {
  const path = `/api/servers/${encodeURIComponent(options.server)}/login`;
  if (options.action === 'logout') {
    const answer = await call(options, 'DELETE', path);
    io.err(
      answer.forgotten
        ? `forgot the gateway's OAuth tokens for server "${options.server}"\n`
        : `the gateway held no OAuth tokens for server "${options.server}"\n`
    );
    return 0;
  }
  const started = await call(options, 'POST', path);
  io.err(`open this URL in a browser to log the gateway in to server "${options.server}":\n`);
  io.out(`${started.authorizationUrl}\n`);
  io.err('waiting for the browser to come back to the gateway…\n');
  const deadline = Date.now() + (options.waitMs ?? LOGIN_WAIT_MS);
  while (Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, options.pollMs ?? 1_000));
    const status = await call(options, 'GET', path);
    if (status.login.state === 'done') {
      io.err(`logged in: the gateway holds OAuth tokens for server "${options.server}"\n`);
      return 0;
    }
    if (status.login.state !== 'pending') {
      io.err(
        `mcp-gateway: ${status.login.error ?? `the login to server "${options.server}" did not finish`}\n`
      );
      return 1;
    }
  }
  io.err(
    `mcp-gateway: the browser did not come back within ${Math.round((options.waitMs ?? LOGIN_WAIT_MS) / 60_000)} minutes; run login again\n`
  );
  return 1;
}

async function call(options: LoginOptions, method: string, path: string): Promise<LoginAnswer> {
  const url = `${options.gateway}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      signal: AbortSignal.timeout(30_000)
    });
  } catch (error) {
    throw new LoginError(
      `cannot reach the gateway at ${options.gateway} (${(error as Error).message}): ${options.action} talks to the running ` +
        'gateway, so start it (mcp-gateway serve), or name it with --port/--host or publicUrl in the config'
    );
  }
  const body = (await res.json().catch(() => ({}))) as Partial<LoginAnswer> & {
    error?: { message?: string };
  };
  if (res.ok) return body as LoginAnswer;
  const message = body.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw new LoginError(
      `the gateway refused the request (${message}): pass an admin token with --token or MCP_GATEWAY_TOKEN ` +
        '(mcp-gateway token create --name NAME --admin)'
    );
  }
  throw new LoginError(`the gateway could not ${options.action} server "${options.server}": ${message}`);
}

/** `login` and `logout` as the command line runs them: 2 for a bad command line, 1 for a failed login. */
export function loginCli(action: 'login' | 'logout'): CommandRun {
  return async (words, flags, settings) => {
    try {
      if (words.length !== 1)
        throw new CommandError(`${action} takes one server id: mcp-gateway ${action} SERVER`);
      const gateway = await readGatewaySettings(settings.configFile, text => process.stderr.write(text));
      const running = runningGateway(gateway, settings, flags);
      return await runLogin(
        { action, server: words[0]!, gateway: running.origin, token: running.token },
        { out: text => process.stdout.write(text), err: text => process.stderr.write(text) }
      );
    } catch (error) {
      if (error instanceof LoginError) {
        process.stderr.write(`mcp-gateway: ${error.message}\n`);
        return 1;
      }
      return commandFailed(error);
    }
  };
}
