import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInitializeRequest, type AuthInfo, type Server } from '@modelcontextprotocol/server';
import { principalOfAuth } from '../auth/principal.js';
import type { AnsweringSseTransport, RequestId } from './answering-sse-transport.js';
import { jsonRpcError, type LegacySessions } from './legacy-sessions.js';
import { OpenAnswers } from './open-answers.js';

/** Where a 2024-11-05 client posts its messages; the `endpoint` event names it with the session id. */
export const SSE_MESSAGES_PATH = '/messages';

/**
 * The 2024-11-05 HTTP+SSE transport, for old clients: `GET /sse` opens a session whose stream
 * carries every answer, `POST /messages?sessionId=…` carries the client's messages. Each session
 * has its own gateway server, and lives in the same pool as the 2025-era sessions: the same caps,
 * idle expiry, history and shutdown. The stream is the session: it closes when the client hangs up.
 */
export class SseSessions {
  /** Requests handed to a session and not answered yet, for shutdown to wait on. */
  private readonly answers = new OpenAnswers();
  /**
   * The transport class, loaded by the first `GET /sse`: the legacy SDK package is not loaded by a
   * gateway no 2024-11-05 client uses.
   */
  private transportClass: typeof AnsweringSseTransport | undefined;

  constructor(
    private readonly pool: LegacySessions,
    private readonly newServer: (profile: string | undefined) => Server
  ) {}

  /**
   * `GET /sse` (or `/sse/<profile>`: `profile` set): opens a session and holds its stream open; the
   * first event names the POST URL. Messages of every profile's sessions go to the one
   * {@link SSE_MESSAGES_PATH}: the session id names the session, and the session its profile.
   */
  async open(req: IncomingMessage, res: ServerResponse, profile?: string): Promise<void> {
    this.transportClass ??= (await import('./answering-sse-transport.js')).AnsweringSseTransport;
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth)?.id;
    if (!this.pool.admit(principal, res)) return;
    const transport = new this.transportClass(SSE_MESSAGES_PATH, res);
    const server = this.newServer(profile);
    const id = transport.sessionId;
    // The open stream counts as a request being served, as a 2025-era GET stream does.
    this.pool.add(id, { transport, server, principal, profile, lastSeen: Date.now(), active: 1 });
    transport.onclose = () => {
      this.pool.forget(id);
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
  }

  /**
   * `POST /messages`: hands one client message to its session (answered 202; the answer goes on the
   * stream). An unknown or closed session gets 404, as does one opened by another principal; no
   * session id gets 400.
   */
  async post(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = new URL(req.url ?? '', 'http://localhost').searchParams.get('sessionId');
    const session = id === null ? undefined : this.pool.get(id);
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth)?.id;
    if (
      id === null ||
      !session ||
      this.transportClass === undefined ||
      !(session.transport instanceof this.transportClass) ||
      session.principal !== principal
    ) {
      res
        .writeHead(id === null ? 400 : 404, { 'content-type': 'application/json' })
        .end(
          jsonRpcError(
            -32001,
            id === null
              ? 'Bad Request: the sessionId query parameter is required (open a session with GET /sse)'
              : 'Session not found: open a new one with GET /sse'
          )
        );
      return;
    }
    this.pool.seen(id, session);
    if (!session.recorded && isInitializeRequest(body)) this.pool.recordOpened(id, req, body);
    const requestId = requestIdOf(body);
    let release: (() => void) | undefined;
    if (requestId !== undefined) {
      release = this.answers.hold();
      session.transport.awaitAnswer(requestId, release);
    }
    try {
      await session.transport.handlePostMessage(req, res, body);
    } finally {
      // Refused (not JSON, not JSON-RPC): the server never saw it, so no answer will come.
      if (res.statusCode !== 202) release?.();
    }
  }

  /**
   * Resolves once every request handed to a session has been answered on its stream (or after
   * `timeoutMs`): for shutdown, between failing the calls still running and closing the sessions.
   */
  answered(timeoutMs: number): Promise<void> {
    return this.answers.settled(timeoutMs);
  }
}

/** The id of a JSON-RPC request (not a notification or a response), or undefined. */
function requestIdOf(body: unknown): RequestId | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { id, method } = body as { id?: unknown; method?: unknown };
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number') ? id : undefined;
}
