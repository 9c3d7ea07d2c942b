import { CommandError, commandFailed } from './admin-commands.js';
import type { CommandRun } from './cli.js';
import type { ReloadResult } from './config-reloader.js';
import { readGatewaySettings, runningGateway } from './connect-command.js';

/** How long `reload` waits for the gateway's answer (a reload answers once the new set is in place). */
const RELOAD_WAIT_MS = 60_000;

/**
 * `mcp-gateway reload`: asks the running gateway to reload its servers.yaml (`POST /api/reload`)
 * and says what it did on stderr. 0 when it was applied, 1 when it was refused (its problems
 * listed, `file:line:col`) or the gateway could not be asked.
 */
export async function runReload(
  options: { readonly gateway: string; readonly token: string | undefined },
  err: (text: string) => void
): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${options.gateway}/api/reload`, {
      method: 'POST',
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      signal: AbortSignal.timeout(RELOAD_WAIT_MS)
    });
  } catch (error) {
    err(
      `mcp-gateway: cannot reach the gateway at ${options.gateway} (${(error as Error).message}): reload talks to the running gateway, so start it (mcp-gateway serve), or name it with --port/--host or publicUrl in the config\n`
    );
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as Partial<ReloadResult> & {
    error?: { message?: string };
  };
  if (res.status === 401 || res.status === 403) {
    err(
      `mcp-gateway: the gateway refused the request (${body.error?.message ?? `HTTP ${res.status}`}): pass an admin token with --token or MCP_GATEWAY_TOKEN (mcp-gateway token create --name NAME --admin)\n`
    );
    return 1;
  }
  if (body.ok === undefined) {
    err(`mcp-gateway: the gateway could not reload: ${body.error?.message ?? `HTTP ${res.status}`}\n`);
    return 1;
  }
  if (!body.ok) {
    for (const problem of body.problems ?? []) err(`${problem}\n`);
    err(`mcp-gateway: ${body.error?.message ?? 'the config was refused; the running config stays'}\n`);
    return 1;
  }
  const list = (ids: readonly string[] | undefined) => (ids?.length ? ids.join(', ') : 'none');
  err(
    `reloaded ${body.file}: added ${list(body.added)}; changed ${list(body.changed)}; removed ${list(body.removed)}; ${body.unchanged?.length ?? 0} unchanged\n`
  );
  const profiles = body.profiles;
  if (profiles && profiles.added.length + profiles.removed.length + profiles.changed.length > 0) {
    err(
      `profiles: added ${list(profiles.added)}; changed ${list(profiles.changed)}; removed ${list(profiles.removed)}\n`
    );
  }
  for (const warning of body.warnings ?? []) err(`warning: ${warning}\n`);
  for (const setting of body.restartNeeded ?? []) {
    err(`${setting} changed but applies only at a restart: restart the gateway to use it\n`);
  }
  return 0;
}

/** `reload` as the command line runs it: 2 for a bad command line. */
export const reloadCli: CommandRun = async (_words, flags, settings) => {
  try {
    let gateway;
    try {
      gateway = await readGatewaySettings(settings.configFile, text => process.stderr.write(text));
    } catch (error) {
      // The gateway would refuse this file too (same check): say so without asking it.
      if (!(error instanceof CommandError)) throw error;
      process.stderr.write(
        `mcp-gateway: ${error.message}\nthe gateway was not asked to reload: its running config stays\n`
      );
      return 1;
    }
    const running = runningGateway(gateway, settings, flags);
    return await runReload({ gateway: running.origin, token: running.token }, text =>
      process.stderr.write(text)
    );
  } catch (error) {
    return commandFailed(error);
  }
};
