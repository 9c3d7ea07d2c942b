import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, type McpHttpHandler, type Server } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';

/**
 * The 2026-07-28 era: stateless requests, each served by a fresh gateway server through the SDK's
 * `createMcpHandler`, which also runs `server/discover` and `subscriptions/listen`. Legacy traffic
 * never reaches it (it is routed to the sessions first), so it rejects rather than serves it.
 */
export class ModernEndpoint {
  private readonly handler: McpHttpHandler;
  private readonly node: ReturnType<typeof toNodeHandler>;

  constructor(newServer: () => Server, log: Logger, maxRequestBodySize: number) {
    this.handler = createMcpHandler(() => newServer(), {
      legacy: 'reject',
      maxRequestBodySize,
      onerror: error => log.debug({ err: error.message }, 'modern endpoint error')
    });
    this.node = toNodeHandler(this.handler, {
      maxRequestBodySize,
      onerror: error => log.warn({ err: error.message }, 'modern endpoint failure')
    });
  }

  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    return this.node(req, res, body);
  }

  /** Publishes `notifications/tools/list_changed` to every open `subscriptions/listen` stream. */
  notifyToolsChanged(): void {
    this.handler.notify.toolsChanged();
  }

  close(): Promise<void> {
    return this.handler.close();
  }
}
