import { randomUUID } from 'node:crypto';
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/server';
import type { ClientCapabilities, Server, ServerContext } from '@modelcontextprotocol/server';
import type { ClientAsker } from '../upstream/client-askers.js';

/**
 * The client that sent the request `ctx` serves, as a {@link ClientAsker}: a server's request
 * during it is sent with it as the related request, so a 2025-era client gets it on that call's
 * stream and its answer goes back to the server. Owned by the session, so requests of one session
 * reach the same client. A 2026-era client (a request with an envelope and no session) cannot be
 * asked this way: its era asks with an `input_required` result instead, in rounds (input-states.ts),
 * which only tools/call, prompts/get and resources/read can end with; this asker is for the rest.
 */
export function callerAsker(server: Server, ctx: ServerContext): ClientAsker {
  const modern = ctx.mcpReq.envelope !== undefined && ctx.sessionId === undefined;
  if (modern) {
    return {
      owner: randomUUID(),
      capabilities: (ctx.mcpReq.envelope as Record<string, unknown>)[CLIENT_CAPABILITIES_META_KEY] as
        ClientCapabilities | undefined,
      unreachable:
        'the calling client speaks 2026-07-28, which takes a question only as the input_required result of a tools/call, prompts/get or resources/read, not during this request',
      ask: () => Promise.reject(new Error('not reachable'))
    };
  }
  return {
    owner: ctx.sessionId ?? randomUUID(),
    capabilities: server.getClientCapabilities() ?? {},
    // A question outlives neither the server's wait nor the call it belongs to: when the call ends
    // (answered, failed or cancelled), the client is told to drop it and the server gets an error.
    ask: (request, options) =>
      ctx.mcpReq.send(request, { ...options, signal: AbortSignal.any([options.signal, ctx.mcpReq.signal]) })
  };
}
