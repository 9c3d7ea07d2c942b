import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest, type Server } from '@modelcontextprotocol/server';
import type { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import { describeError } from '../errors.js';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { principalOfAuth } from '../auth/principal.js';
import type { Logger } from '../log.js';
import type { CloseReason, SessionOpened } from '../store/activity-log.js';
import type { SessionState, SessionStore } from '../store/session-store.js';
import { BoundedEventStore, type EventStoreBounds } from './bounded-event-store.js';
import { EventBudget } from './event-budget.js';
import { OpenAnswers } from './open-answers.js';
import { RequestIdsInUse } from './request-ids-in-use.js';
import { KeptSessions } from './kept-sessions.js';
import { restoreSession } from './session-restore.js';
import type { SessionToolList } from './session-tool-list.js';

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
  /**
   * Open sessions in all. At it, `initialize` closes the least recently used idle session
   * (`evicted`); with none idle, it gets 503 with `Retry-After`.
   */
  readonly maxSessions: number;
  /** Open sessions per principal. At it, `initialize` closes that principal's least recently used one. */
  readonly sessionsPerPrincipal: number;
  /** What each session holds of its SSE events for `Last-Event-ID` replay. */
  readonly events?: EventStoreBounds;
  /** Bytes all sessions' event stores hold between them; past it, the oldest events go first. */
  readonly eventBudgetBytes?: number;
  /** The `retry:` (milliseconds) sent on each SSE stream: how long a client waits before resuming. */
  readonly retryMs?: number;
  /**
   * Where 2025-era Streamable HTTP sessions are kept so that they survive a restart; none: they
   * live in memory only. With it, a request naming a session this process does not hold is served
   * by the session rebuilt from the store (see {@link restoreSession}).
   */
  readonly store?: SessionStore | undefined;
  /** The state a session's server holds now (log level, subscriptions), kept in the store. */
  readonly stateOf?: ((server: Server) => SessionState) | undefined;
  /** Answers a session's plain `tools/list` from the kept pages (none: its transport answers every request). */
  readonly toolList?: SessionToolList | undefined;
}

/** The `retry:` sent on SSE streams unless the options say otherwise. */
export const DEFAULT_RETRY_MS = 1000;

/**
 * One session: a 2025-era Streamable HTTP one on `/mcp`, or a 2024-11-05 one on `/sse` (opened by
 * {@link SseSessions}, counted, limited and expired here with the others).
 */
export interface Session {
  readonly transport: NodeStreamableHTTPServerTransport | SSEServerTransport;
  readonly server: Server;
  /** Who opened it (the principal id), for the per-principal cap. */
  readonly principal: string | undefined;
  /** The profile it was opened on (`/mcp/<profile>`, `/sse/<profile>`); undefined: the root. */
  readonly profile?: string | undefined;
  lastSeen: number;
  /** Requests being served now, an open GET stream included; a session with none is idle. */
  active: number;
  /** Set just before the gateway closes it, so the close is recorded with its reason. */
  closeReason?: CloseReason;
  /** Whether its opening was recorded (at `initialize`); only then is its close. */
  recorded?: boolean;
  /** Its SSE events held for replay (2025-era sessions); cleared when it closes. */
  readonly events?: BoundedEventStore;
}

/** A refused `initialize`: the status, the message, and when a retry can succeed (seconds). */
export interface Refusal {
  readonly status: number;
  readonly message: string;
  readonly retryAfter: number;
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
  /** POSTs being answered, for shutdown to wait on. */
  private readonly answers = new OpenAnswers();
  /** Each session's request ids being answered now (see {@link RequestIdsInUse}). */
  private readonly requestIds = new RequestIdsInUse();
  private readonly sweeper: NodeJS.Timeout;
  private readonly sweepMs: number;
  /** Shared by every session's event store. */
  private readonly eventBudget: EventBudget;
  /** What is written to the session store, when there is one; last-seen times once a sweep. */
  private readonly kept: KeptSessions | undefined;
  /** The id of each live 2025-era session's server, for {@link stateChanged}. */
  private readonly idOf = new WeakMap<object, string>();
  /** Sessions being rebuilt from the store: a second request for one waits for the same rebuild. */
  private readonly restoring = new Map<string, Promise<Session | Refusal | undefined>>();
  private closing = false;

  /** @param newServer builds the gateway server of a new session on a profile (undefined: the root). */
  constructor(
    private readonly newServer: (profile: string | undefined) => Server,
    private readonly log: Logger,
    private readonly options: LegacySessionsOptions
  ) {
    this.eventBudget = new EventBudget(options.eventBudgetBytes);
    this.sweepMs = Math.min(30_000, Math.max(250, options.timeoutMs / 4));
    this.sweeper = setInterval(() => {
      this.expireIdle();
      this.kept?.flushSeen();
    }, this.sweepMs);
    this.sweeper.unref();
    this.kept =
      options.store && new KeptSessions(options.store, options.stateOf ?? noState, log, options.timeoutMs);
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Serves one POST, GET or DELETE of the 2025 era on `profile` (undefined: the root `/mcp`). `body`
   * is the parsed JSON of a POST. An unknown or ended session id, or one opened by another principal
   * or on another profile, gets 404; a request other than `initialize` without one gets 400. A
   * session this process does not hold but the store does (the gateway restarted) is rebuilt first.
   */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown, profile?: string): Promise<void> {
    if (req.method === 'POST') this.answers.track(res);
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const auth = (req as { auth?: AuthInfo }).auth;
      let session = this.sessions.get(sessionId);
      if (!session && this.kept) {
        const restored = await this.restore(sessionId, auth, req, profile);
        if (restored && 'status' in restored) {
          writeRefusal(res, restored);
          return;
        }
        session = restored;
      }
      // A session is its opener's: to another principal it does not exist (no replay, no DELETE).
      // Nor to a request on another profile: a session's lists are its profile's.
      if (!session || session.principal !== principalOfAuth(auth)?.id || session.profile !== profile) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(jsonRpcError(-32001, 'Session not found'));
        return;
      }
      if (!(session.transport instanceof NodeStreamableHTTPServerTransport)) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(jsonRpcError(-32001, 'Session not found: it is an HTTP+SSE session, served on /messages'));
        return;
      }
      const { transport } = session;
      this.seen(sessionId, session);
      session.active++;
      res.once('close', () => session.active--);
      if (req.method === 'DELETE') session.closeReason = 'deleted';
      const listed = this.listFromPages(req, res, body, sessionId, session);
      if (listed && (await listed)) return;
      const reused = req.method === 'POST' ? this.requestIds.claim(session, body, res) : undefined;
      if (reused !== undefined) {
        // Answered with no id: an answer with this one would reach the request already running.
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(
            jsonRpcError(
              -32600,
              `Invalid Request: request id ${JSON.stringify(reused)} is in use by a request of this session still running; a request id must be unique within the session`
            )
          );
        return;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      await this.open(req, res, body, profile);
      return;
    }
    res
      .writeHead(400, { 'content-type': 'application/json' })
      .end(jsonRpcError(-32000, 'Bad Request: Mcp-Session-Id header is required'));
  }

  /**
   * Whether the session's `tools/list` was answered from the kept pages, past its transport; false
   * at once for any other request (no wait added to a session's calls).
   */
  private listFromPages(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    id: string,
    session: Session
  ): Promise<boolean> | false {
    const { toolList } = this.options;
    if (!toolList || !session.events || req.method !== 'POST') return false;
    if ((body as { method?: unknown } | null)?.method !== 'tools/list') return false;
    return toolList.serve(req, res, body, {
      id,
      profile: session.profile,
      events: session.events,
      retryMs: this.options.retryMs ?? DEFAULT_RETRY_MS,
      isOpen: () => this.sessions.get(id) === session
    });
  }

  /** The open session `id`, or undefined. */
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Marks a session used now: the heartbeat that keeps it from expiring. */
  seen(id: string, session: Session): void {
    session.lastSeen = Date.now();
    this.options.tracker.sessionSeen(id);
    this.kept?.seen(id, session.lastSeen);
  }

  /**
   * Makes room for a new session of `principal` (see {@link makeRoom}), or answers `res` with the
   * refusal and returns false. For sessions opened outside {@link handle}: the HTTP+SSE ones.
   */
  admit(principal: string | undefined, res: ServerResponse): boolean {
    const refusal = this.makeRoom(principal);
    if (refusal) writeRefusal(res, refusal);
    return refusal === undefined;
  }

  /**
   * Adds a session opened outside {@link handle}, after {@link admit}. Its transport's close must call
   * {@link forget}.
   */
  add(id: string, session: Session): void {
    this.sessions.set(id, session);
  }

  /** Records that the client of session `id` initialized it (who it is, what it can do). */
  recordOpened(id: string, req: IncomingMessage, body: unknown, at = Date.now()): void {
    const session = this.sessions.get(id);
    const params = (
      body as {
        params?: {
          clientInfo?: { name?: string; version?: string };
          protocolVersion?: string;
          capabilities?: unknown;
        };
      }
    ).params;
    this.options.tracker.sessionOpened({
      id,
      name: params?.clientInfo?.name,
      version: params?.clientInfo?.version,
      protocolVersion: params?.protocolVersion,
      capabilities: params?.capabilities,
      userAgent: req.headers['user-agent'],
      remoteAddress: req.socket.remoteAddress,
      principal: session?.principal,
      at
    });
    if (session) session.recorded = true;
    this.log.info({ session: id, client: params?.clientInfo?.name }, 'session opened');
  }

  /**
   * Removes a session whose transport has closed, and records the close with its reason. Idempotent:
   * an evicted session is already gone.
   */
  forget(id: string): void {
    const session = this.sessions.get(id);
    if (!session || !this.sessions.delete(id)) return;
    session.events?.clear();
    const reason = session.closeReason ?? 'closed';
    // At shutdown the session stays stored, to be rebuilt by the next start; otherwise it has ended.
    this.kept?.release(id, reason === 'shutdown' ? 'keep' : 'delete');
    if (session.recorded) this.options.tracker.sessionClosed(id, reason);
    this.log.info({ session: id, reason }, 'session closed');
  }

  /**
   * Stores the state of the session whose server is `server`, which has just changed (a level set,
   * a subscription made or ended): told as the change happens, so it is stored before the request
   * that made it is answered. Anything else (a 2026-era listen stream) is not a session's: ignored.
   */
  stateChanged(server: object): void {
    const id = this.idOf.get(server);
    if (id !== undefined) this.kept?.changed(id, server as Server);
  }

  /** Tells every open session that the tool list changed. */
  notifyToolsChanged(): void {
    this.notifyListChanged('tools');
  }

  /**
   * Tells every open session of `profile` (undefined: the root) that the list of `kind` changed. A
   * session whose server does not advertise the kind (it opened when no server offered it) is not
   * told.
   */
  notifyListChanged(kind: 'tools' | 'prompts' | 'resources', profile?: string): void {
    for (const { server, profile: its } of this.sessions.values()) {
      if (its !== profile) continue;
      const sent =
        kind === 'tools'
          ? server.sendToolListChanged()
          : kind === 'prompts'
            ? server.sendPromptListChanged()
            : server.sendResourceListChanged();
      sent.catch((error: unknown) => {
        this.log.debug({ err: describeError(error) }, 'could not notify a session');
      });
    }
  }

  /**
   * Resolves once every POST being served has had its answer written (or after `timeoutMs`): for
   * shutdown, between failing the calls still running and closing the sessions.
   */
  answered(timeoutMs: number): Promise<void> {
    return this.answers.settled(timeoutMs);
  }

  /** Ends every session (shutdown); their GET streams end with them. */
  async closeAll(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    this.kept?.flushSeen();
    await Promise.all(
      [...this.sessions.values()].map(session => {
        session.closeReason = 'shutdown';
        return session.transport.close().catch(() => undefined);
      })
    );
    this.sessions.clear();
  }

  /**
   * Makes room for a new session of `principal`: at the per-principal cap, its least recently used
   * session is closed (an idle one first); at the global cap, the least recently used idle session of
   * anyone. Abandoned sessions (a client that exited without DELETE) thus never lock a principal out.
   * A session with a request or stream open is not evicted for another principal; when every session
   * is busy, the refusal's `retryAfter` is when the least recently seen one expires.
   */
  private makeRoom(principal: string | undefined): Refusal | undefined {
    const mine = [...this.sessions].filter(([, session]) => session.principal === principal);
    while (mine.length >= this.options.sessionsPerPrincipal) {
      const victim =
        leastRecentlyUsed(mine.filter(([, session]) => session.active === 0)) ?? leastRecentlyUsed(mine)!;
      mine.splice(mine.indexOf(victim), 1);
      this.evict(
        victim,
        `${principal ?? 'this client'} has its maximum of ${this.options.sessionsPerPrincipal} open sessions`
      );
    }
    if (this.sessions.size < this.options.maxSessions) return undefined;
    const victim = leastRecentlyUsed([...this.sessions].filter(([, session]) => session.active === 0));
    if (victim) {
      this.evict(victim, `the gateway has its maximum of ${this.options.maxSessions} open sessions`);
      return undefined;
    }
    const oldest = Math.min(...[...this.sessions.values()].map(session => session.lastSeen));
    const retryAfter = Math.max(
      1,
      Math.ceil((oldest + this.options.timeoutMs + this.sweepMs - Date.now()) / 1000)
    );
    return {
      status: 503,
      message: `the gateway has its maximum of ${this.options.maxSessions} open sessions (gateway.limits.maxSessions), all in use; retry after ${retryAfter} s, or raise the limit`,
      retryAfter
    };
  }

  /** Closes a session to make room for a new one; its id gets 404 from now on. */
  private evict([id, session]: [string, Session], why: string): void {
    // Recorded here rather than by the transport's onclose: the slot must be free before it returns.
    this.sessions.delete(id);
    this.kept?.release(id, 'delete');
    if (session.recorded) this.options.tracker.sessionClosed(id, 'evicted');
    this.log.info({ session: id, principal: session.principal }, `session evicted: ${why}`);
    void session.transport.close().catch(() => undefined);
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

  private async open(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    profile: string | undefined
  ): Promise<void> {
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth)?.id;
    if (!this.admit(principal, res)) return;
    const server = this.newServer(profile);
    const events = new BoundedEventStore(this.options.events, this.eventBudget);
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: events,
      retryInterval: this.options.retryMs ?? DEFAULT_RETRY_MS,
      onsessioninitialized: id => {
        const session: Session = {
          transport,
          server,
          principal,
          profile,
          lastSeen: Date.now(),
          active: 0,
          events
        };
        this.sessions.set(id, session);
        this.idOf.set(server, id);
        this.recordOpened(id, req, body);
        this.kept?.opened(id, principal, body, session.lastSeen, profile);
      }
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.forget(transport.sessionId);
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /**
   * The session `id` rebuilt from the store for a request by `auth`'s principal, a refusal (no room
   * for it), or undefined: not stored, expired while the gateway was down, or another principal's
   * (which is then logged, and never served). One rebuild at a time per id.
   */
  private restore(
    id: string,
    auth: AuthInfo | undefined,
    req: IncomingMessage,
    profile: string | undefined
  ): Promise<Session | Refusal | undefined> {
    let pending = this.restoring.get(id);
    if (!pending) {
      pending = this.rebuild(id, auth, req, profile).finally(() => this.restoring.delete(id));
      this.restoring.set(id, pending);
    }
    return pending;
  }

  private async rebuild(
    id: string,
    auth: AuthInfo | undefined,
    req: IncomingMessage,
    profile: string | undefined
  ): Promise<Session | Refusal | undefined> {
    const principal = principalOfAuth(auth)?.id;
    const stored = this.kept!.find(id, principal);
    // A session of another profile is not this request's: it stays stored for its own URL.
    if (!stored || stored.profile !== profile || this.closing) return undefined;
    const refusal = this.makeRoom(principal);
    if (refusal) return refusal;
    const server = this.newServer(profile);
    const events = new BoundedEventStore(this.options.events, this.eventBudget, { restored: true });
    let restored;
    try {
      restored = await restoreSession(stored, server, {
        auth,
        events,
        retryMs: this.options.retryMs ?? DEFAULT_RETRY_MS,
        log: this.log,
        onclose: () => {
          this.forget(id);
          void server.close().catch(() => undefined);
        }
      });
    } catch (error) {
      this.log.warn(
        { err: describeError(error), session: id },
        'could not rebuild a stored session; its client must initialize a new one'
      );
      return undefined;
    }
    const { transport } = restored;
    if (this.closing) {
      await transport.close().catch(() => undefined);
      return undefined;
    }
    const session: Session = {
      transport,
      server,
      principal,
      profile,
      lastSeen: Date.now(),
      active: 0,
      events
    };
    this.sessions.set(id, session);
    this.idOf.set(server, id);
    this.kept!.restored(stored, server);
    const clientInfo = stored.clientInfo as { name?: string; version?: string } | null;
    this.options.tracker.sessionOpened({
      id,
      name: clientInfo?.name,
      version: clientInfo?.version,
      protocolVersion: stored.protocolVersion,
      capabilities: stored.capabilities,
      userAgent: req.headers['user-agent'],
      remoteAddress: req.socket.remoteAddress,
      principal,
      at: stored.createdAt
    });
    session.recorded = true;
    this.log.info({ session: id, restored: restored.state }, 'session restored from the store');
    return session;
  }
}

/** The state of a session when nothing says what its server holds. */
function noState(): SessionState {
  return { logLevel: undefined, subscriptions: [] };
}

function writeRefusal(res: ServerResponse, refusal: Refusal): void {
  res
    .writeHead(refusal.status, {
      'content-type': 'application/json',
      'retry-after': String(refusal.retryAfter)
    })
    .end(jsonRpcError(-32000, refusal.message));
}

function leastRecentlyUsed(sessions: readonly [string, Session][]): [string, Session] | undefined {
  let oldest: [string, Session] | undefined;
  for (const entry of sessions) if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
  return oldest;
}
