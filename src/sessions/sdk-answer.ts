import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  Server,
  type CallToolResult,
  type Implementation
} from '@modelcontextprotocol/server';

/**
 * The SDK's own answer to a 2026-era `tools/call` whose result is already known: the request goes
 * through `createMcpHandler` as on the SDK path, to a server whose handler returns that result, so
 * the SDK validates, normalizes and encodes it (an `input_required` result checked against the
 * caller's capabilities, content blocks in their wire schemas' shape). For the results the fast
 * path does not encode itself; nothing is called again.
 */
export class SdkAnswer {
  private readonly result = new AsyncLocalStorage<CallToolResult>();
  private readonly handler;
  private readonly node;

  constructor(serverInfo: Implementation, maxRequestBodySize: number) {
    this.handler = createMcpHandler(
      () => {
        const server = new Server(serverInfo, { capabilities: { tools: { listChanged: true } } });
        server.setRequestHandler('tools/call', () => this.result.getStore()!);
        return server;
      },
      { legacy: 'reject', maxRequestBodySize }
    );
    this.node = toNodeHandler(this.handler, { maxRequestBodySize });
  }

  /** Writes the SDK's answer to the request `body` whose call ended with `result`. */
  write(req: IncomingMessage, res: ServerResponse, body: unknown, result: CallToolResult): Promise<void> {
    return this.result.run(result, () => this.node(req, res, body));
  }
}
