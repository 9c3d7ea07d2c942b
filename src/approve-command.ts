import { CommandError, commandFailed } from './admin-commands.js';
import type { QuarantinedItem } from './catalog/catalog.js';
import type { CommandRun } from './cli.js';
import { readGatewaySettings, runningGateway } from './connect-command.js';

/** How long `approve` waits for the gateway's answer. */
const APPROVE_WAIT_MS = 30_000;

/**
 * `mcp-gateway approve SERVER [ITEM...]`: asks the running gateway to approve what it holds of
 * SERVER (`POST /api/servers/SERVER/approve`): every held item, or those named. Prints each
 * approved item with its difference on stdout. 0 when approved; 1 when the gateway refused (an
 * item that is not quarantined: its message names what is) or could not be asked.
 */
export async function runApprove(
  options: {
    readonly server: string;
    readonly items: readonly string[];
    readonly gateway: string;
    readonly token: string | undefined;
  },
  io: { out: (text: string) => void; err: (text: string) => void }
): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${options.gateway}/api/servers/${encodeURIComponent(options.server)}/approve`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` })
      },
      body: JSON.stringify(options.items.length === 0 ? {} : { items: options.items }),
      signal: AbortSignal.timeout(APPROVE_WAIT_MS)
    });
  } catch (error) {
    io.err(
      `mcp-gateway: cannot reach the gateway at ${options.gateway} (${(error as Error).message}): approve talks to the running gateway, so start it (mcp-gateway serve), or name it with --port/--host or publicUrl in the config\n`
    );
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as {
    approved?: QuarantinedItem[];
    quarantined?: QuarantinedItem[];
    error?: { message?: string };
  };
  if (res.status === 401 || res.status === 403) {
    io.err(
      `mcp-gateway: the gateway refused the request (${body.error?.message ?? `HTTP ${res.status}`}): pass an admin token with --token or MCP_GATEWAY_TOKEN (mcp-gateway token create --name NAME --admin)\n`
    );
    return 1;
  }
  if (!res.ok || body.approved === undefined) {
    io.err(`mcp-gateway: nothing approved: ${body.error?.message ?? `HTTP ${res.status}`}\n`);
    return 1;
  }
  for (const item of body.approved) {
    io.out(`approved ${item.kind} ${item.name} of server ${item.server} (${item.reason})\n${item.diff}\n`);
  }
  const left = body.quarantined ?? [];
  if (left.length > 0) {
    io.err(
      `still quarantined on ${options.server}: ${left.map(item => `${item.kind} ${item.name}`).join(', ')}\n`
    );
  }
  return 0;
}

/** `approve` as the command line runs it: 2 for a bad command line. */
export const approveCli: CommandRun = async (words, flags, settings) => {
  try {
    const [server, ...items] = words;
    if (server === undefined) {
      throw new CommandError(
        'approve takes a server id and, optionally, the items to approve: mcp-gateway approve SERVER [ITEM...] (GET /api/quarantine lists what is held)'
      );
    }
    const gateway = await readGatewaySettings(settings.configFile, text => process.stderr.write(text));
    const running = runningGateway(gateway, settings, flags);
    return await runApprove(
      { server, items, gateway: running.origin, token: running.token },
      { out: text => process.stdout.write(text), err: text => process.stderr.write(text) }
    );
  } catch (error) {
    return commandFailed(error);
  }
};
