import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest, type Server } from '@modelcontextprotocol/server';
import { describeError } from '../errors.js';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { principalOfAuth } from '../auth/principal.js';
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
  /** Open sessions in all; past it, `initialize` gets 503. */
  readonly maxSessions: number;
  /** Open sessions per principal; past it, `initialize` gets 429. */
  readonly sessionsPerPrincipal: number;
}

interface Session {
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: Server;
  /** Who opened it (the principal id), for the per-principal cap. */
  readonly principal: string | undefined;
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

  /** Why a new session for `principal` must be refused now, if it must. */
  private capacityRefusal(principal: string | undefined): { status: number; message: string } | undefined {
    if (this.sessions.size >= this.options.maxSessions) {
      return {
        status: 503,
        message: `the gateway has its maximum of ${this.options.maxSessions} open sessions`
      };
    }
    let mine = 0;
    for (const session of this.sessions.values()) if (session.principal === principal) mine++;
    if (mine >= this.options.sessionsPerPrincipal) {
      return {
        status: 429,
        message: `${principal ?? 'this client'} already has ${mine} open sessions (the limit); close one (DELETE) first`
      };
    }
    return undefined;
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
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth)?.id;
    const refusal = this.capacityRefusal(principal);
    if (refusal) {
      res
        .writeHead(refusal.status, { 'content-type': 'application/json', 'retry-after': '30' })
        .end(jsonRpcError(-32000, refusal.message));
      return;
    }
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
        this.sessions.set(id, { transport, server, principal, lastSeen: now });
        this.options.tracker.sessionOpened({
          id,
          name: params?.clientInfo?.name,
          version: params?.clientInfo?.version,
          protocolVersion: params?.protocolVersion,
          capabilities: params?.capabilities,
          userAgent: req.headers['user-agent'],
          remoteAddress: req.socket.remoteAddress,
          principal,
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
