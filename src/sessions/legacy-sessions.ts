import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest, type Server } from '@modelcontextprotocol/server';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

interface Session {
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: Server;
}

/** A JSON-RPC error body for answers the transport does not give itself. */
export function jsonRpcError(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * The 2025-era sessions: one Streamable HTTP transport and one gateway server per `Mcp-Session-Id`,
 * created by `initialize` and ended by DELETE or shutdown. Ending a session frees all of it.
 */
export class LegacySessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly newServer: () => Server,
    private readonly log: Logger
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Serves one POST, GET or DELETE of the 2025 era. `body` is the parsed JSON of a POST. An unknown
   * or ended session id gets 404; a request other than `initialize` without one gets 400.
   */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (!session) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(jsonRpcError(-32001, 'Session not found'));
        return;
      }
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      await this.open(req, res, body);
      return;
    }
    res
      .writeHead(400, { 'content-type': 'application/json' })
      .end(jsonRpcError(-32000, 'Bad Request: Mcp-Session-Id header is required'));
  }

  /** Tells every open session that the tool list changed. */
  notifyToolsChanged(): void {
    for (const session of this.sessions.values()) {
      session.server.sendToolListChanged().catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not notify a session');
      });
    }
  }

  /** Ends every session (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].map(session => session.transport.close().catch(() => undefined))
    );
    this.sessions.clear();
  }

  private async open(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const server = this.newServer();
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: id => {
        this.sessions.set(id, { transport, server });
        this.log.info({ session: id }, 'session opened');
      }
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.sessions.delete(id)) this.log.info({ session: id }, 'session closed');
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }
}
