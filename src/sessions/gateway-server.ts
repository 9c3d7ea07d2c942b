import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import type { CallToolResult, ListToolsResult } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import { toProtocolError } from '../errors.js';
import { clientKeyOf } from '../store/activity-log.js';
import { principalOfAuth } from '../auth/principal.js';
import type { CallRunner } from './call-runner.js';
import { identityOf } from './client-identity.js';

/** What every client-facing MCP server instance shares. */
export interface GatewayServerOptions {
  readonly catalog: Catalog;
  readonly name: string;
  readonly version: string;
  /** Text for clients: which servers stand behind the gateway; a function is asked anew for each server built. */
  readonly instructions: string | (() => string);
  /** How long a `tools/list` waits for startup discovery before answering with what is known. */
  readonly listWaitMs: number;
  /** Tools per `tools/list` page. */
  readonly pageSize: number;
  /** Runs calls (scope, limits) and tells the observers (logging, history, metrics). */
  readonly runner: CallRunner;
}

/**
 * Builds one client-facing MCP server: a low-level {@link Server} whose `tools/list` and
 * `tools/call` answer from the catalog. A 2025-era session keeps one for its lifetime; a 2026-era
 * request gets a fresh one. Upstream definitions and results pass through unchanged.
 */
export function createGatewayServer(options: GatewayServerOptions): Server {
  const server = new Server(
    { name: options.name, version: options.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions: typeof options.instructions === 'string' ? options.instructions : options.instructions()
    }
  );

  server.setRequestHandler('tools/list', async (request, ctx) => {
    const principal = principalOfAuth(ctx.http?.authInfo);
    const all = await options.catalog.listTools(options.listWaitMs);
    const tools = principal ? all.filter(tool => options.runner.allows(principal, tool.name)) : all;
    const offset = decodeCursor(request.params?.cursor);
    if (offset > tools.length) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
    const end = offset + options.pageSize;
    const result: ListToolsResult = { tools: tools.slice(offset, end) };
    if (end < tools.length) result.nextCursor = encodeCursor(end);
    return result;
  });

  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    const { name, arguments: args, _meta: meta } = request.params;
    const { progressToken, ...forwardedMeta } = meta ?? {};
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    try {
      return await options.runner.run(name, args, {
        principal: principalOfAuth(ctx.http?.authInfo),
        sessionId: ctx.sessionId,
        // A 2026-era request names its client in its envelope; a session was named at initialize.
        clientKey:
          envelope && ctx.sessionId === undefined
            ? clientKeyOf(identityOf(envelope, undefined, principalOfAuth(ctx.http?.authInfo)?.id))
            : undefined,
        signal: ctx.mcpReq.signal,
        meta: Object.keys(forwardedMeta).length > 0 ? forwardedMeta : undefined,
        onprogress:
          progressToken === undefined
            ? undefined
            : progress =>
                void ctx.mcpReq
                  .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
                  .catch(() => undefined)
      });
    } catch (error) {
      throw toProtocolError(error);
    }
  });

  return server;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  return Number(match[1]);
}

/** The gateway's instructions: one line per server with its description. */
export function describeServers(servers: readonly { id: string; description: string | undefined }[]): string {
  const lines = servers.map(server => `- ${server.id}${server.description ? `: ${server.description}` : ''}`);
  return [
    'This gateway serves the tools of several MCP servers. Tool names are <server namespace>__<tool>; each description starts with [server id].',
    'Servers:',
    ...lines
  ].join('\n');
}
