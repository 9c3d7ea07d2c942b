import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest, type Server } from '@modelcontextprotocol/server';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CloseReason, SessionOpened } from '../store/activity-log.js';

/** Told when sessions open, are used, and close. Must not throw. */
export interface SessionTracker {
  sessionOpened(session: SessionOpened): void;
  /** The heartbeat: called for every request of a session. */
  sessionSeen(id: string): void;
  sessionClosed(id: string, reason: CloseReason): void;
}

export interface LegacySessionsOptions {
  readonly tracker: SessionTracker;
  /** A session with no request for this long is closed. */
  readonly timeoutMs: number;
  /** The authenticated principal of a request, when there is one. */
  readonly principalOf?: (req: IncomingMessage) => string | undefined;
}

interface Session {
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  /** Set just before the gateway closes it, so the close is recorded with its reason. */
  closeReason?: CloseReason;
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
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly newServer: () => Server,
    private readonly log: Logger,
    private readonly options: LegacySessionsOptions
  ) {
    this.sweeper = setInterval(
      () => this.expireIdle(),
      Math.min(30_000, Math.max(250, options.timeoutMs / 4))
    );
    this.sweeper.unref();
  }

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
      session.lastSeen = Date.now();
      this.options.tracker.sessionSeen(sessionId);
      if (req.method === 'DELETE') session.closeReason = 'deleted';
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
    clearInterval(this.sweeper);
    await Promise.all(
      [...this.sessions.values()].map(session => {
        session.closeReason = 'shutdown';
        return session.transport.close().catch(() => undefined);
      })
    );
    this.sessions.clear();
  }

  /** Closes sessions that have had no request for longer than the timeout. */
  private expireIdle(): void {
    const cutoff = Date.now() - this.options.timeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.lastSeen >= cutoff) continue;
      session.closeReason = 'expired';
      this.log.info({ session: id }, 'session expired');
      void session.transport.close().catch(() => undefined);
    }
  }

  private async open(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const server = this.newServer();
    const params = (
      body as {
        params?: {
          clientInfo?: { name?: string; version?: string };
          protocolVersion?: string;
          capabilities?: unknown;
        };
      }
    ).params;
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: id => {
        const now = Date.now();
        this.sessions.set(id, { transport, server, lastSeen: now });
        this.options.tracker.sessionOpened({
          id,
          name: params?.clientInfo?.name,
          version: params?.clientInfo?.version,
          protocolVersion: params?.protocolVersion,
          capabilities: params?.capabilities,
          userAgent: req.headers['user-agent'],
          remoteAddress: req.socket.remoteAddress,
          principal: this.options.principalOf?.(req),
          at: now
        });
        this.log.info({ session: id, client: params?.clientInfo?.name }, 'session opened');
      }
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      const session = id === undefined ? undefined : this.sessions.get(id);
      if (id !== undefined && session && this.sessions.delete(id)) {
        const reason = session.closeReason ?? 'closed';
        this.options.tracker.sessionClosed(id, reason);
        this.log.info({ session: id, reason }, 'session closed');
      }
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }
}
