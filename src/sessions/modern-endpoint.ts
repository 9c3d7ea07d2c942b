import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, type McpHttpHandler, type Server } from '@modelcontextprotocol/server';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { principalOfAuth } from '../auth/principal.js';
import type { Logger } from '../log.js';
import type { ClientIdentity } from '../store/activity-log.js';
import { identityOf, metaOfBody } from './client-identity.js';
import type { FastPath } from './fast-path.js';
import { OpenAnswers } from './open-answers.js';
import { HEADER_MISMATCH, headerDeclarations, paramHeaderMismatch } from './mcp-param-headers.js';
import type { ResourceSubscriptions } from './resource-subscriptions.js';

/** One SDK handler: the root's, or a profile's. */
interface Handler {
  readonly handler: McpHttpHandler;
  readonly node: ReturnType<typeof toNodeHandler>;
  /** Its requests being answered (not its `subscriptions/listen` streams), for {@link ModernEndpoint.retire}. */
  readonly answers: OpenAnswers;
}

/**
 * The 2026-07-28 era: stateless requests, each served by a fresh gateway server through the SDK's
 * `createMcpHandler`, which also runs `server/discover` and `subscriptions/listen`. Legacy traffic
 * never reaches it (it is routed to the sessions first), so it rejects rather than serves it. The
 * root `/mcp` and each profile (`/mcp/<profile>`) have a handler of their own, made at their first
 * request: a handler's `notify` reaches its own `subscriptions/listen` streams, so each profile's
 * `list_changed` reaches only its listeners. A profile a reload removes has its handler retired
 * ({@link retire}).
 */
export class ModernEndpoint {
  private readonly handlers = new Map<string | undefined, Handler>();
  /** Handlers of removed profiles, closed once their requests are answered (or at {@link close}). */
  private readonly retiring = new Set<Handler>();
  /** Requests being answered (not `subscriptions/listen` streams), for shutdown to wait on. */
  private readonly answers = new OpenAnswers();
  /**
   * Profiles retired since their last request arrived. A request the HTTP layer let in before a
   * reload removed its profile can still reach the SDK path afterwards (the fast path left it after
   * reading the profile's list): it is then refused, so that no handler is made for a profile
   * that no longer exists.
   */
  private readonly removed = new Set<string>();
  /** The request being handled's report to `onRequest`, made once the SDK accepts the request. */
  private readonly accepted = new AsyncLocalStorage<() => void>();

  /**
   * @param onRequest told of the client identity (from its `_meta` envelope) of each request the SDK
   *   accepts to serve; not of one it refuses (bad standard headers, envelope or capabilities).
   *   Must not throw.
   */
  constructor(
    private readonly newServer: (profile: string | undefined) => Server,
    private readonly log: Logger,
    private readonly maxRequestBodySize: number,
    private readonly onRequest: (identity: ClientIdentity) => void = () => {},
    private readonly subscriptions?: ResourceSubscriptions,
    /**
     * A tool's `inputSchema` by the name a profile (undefined: the root) exposes it under, for its
     * `Mcp-Param-*` headers (none: not checked).
     */
    private readonly inputSchemaOf?: (tool: string, profile: string | undefined) => unknown,
    /** Whether resource `uri` is in `profile` (none: every URI is), for a listen stream's subscriptions. */
    private readonly inProfile?: (uri: string, profile: string) => boolean,
    /**
     * Answers the plain `tools/call`s and `tools/list`s of the root and of each profile without
     * the SDK (none: the SDK answers all); it leaves to the SDK what it does not serve.
     */
    private readonly fastPath?: FastPath
  ) {
    this.handlerOf(undefined);
  }

  /** Serves one 2026-era POST on `profile` (undefined: the root `/mcp`). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, profile?: string): Promise<void> {
    // The HTTP layer has just checked that the profile exists.
    if (profile !== undefined) this.removed.delete(profile);
    if ((body as { method?: unknown } | null)?.method !== 'subscriptions/listen') this.answers.track(res);
    else body = this.subscribeStream(req, res, body, profile);
    if (this.refusedParamHeaders(req, res, body, profile)) return Promise.resolve();
    if (this.fastPath) return this.viaFastPath(this.fastPath, req, res, body, profile);
    return this.viaSdk(req, res, body, profile);
  }

  /** The fast path's answer, or the SDK's for a request it leaves (it has then written nothing). */
  private async viaFastPath(
    fastPath: FastPath,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    profile: string | undefined
  ) {
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth);
    const served = await fastPath.serve(
      req,
      res,
      body,
      envelope => this.onRequest(identityOf(envelope, req, principal?.id)),
      profile
    );
    if (!served) await this.viaSdk(req, res, body, profile);
  }

  private viaSdk(req: IncomingMessage, res: ServerResponse, body: unknown, profile: string | undefined) {
    if (profile !== undefined && this.removed.has(profile)) {
      refuseRemoved(res, body, profile);
      return Promise.resolve();
    }
    const { node, answers } = this.handlerOf(profile);
    if ((body as { method?: unknown } | null)?.method !== 'subscriptions/listen') answers.track(res);
    const meta = metaOfBody(body);
    if (!meta) return node(req, res, body);
    const report = () =>
      this.onRequest(identityOf(meta, req, principalOfAuth((req as { auth?: AuthInfo }).auth)?.id));
    return this.accepted.run(report, () => node(req, res, body));
  }

  /** Publishes `notifications/tools/list_changed` to every open `subscriptions/listen` stream of the root. */
  notifyToolsChanged(): void {
    this.notifyListChanged('tools');
  }

  /**
   * Publishes the `list_changed` of `kind` to every open `subscriptions/listen` stream of `profile`
   * (undefined: the root) that asked for it.
   */
  notifyListChanged(kind: 'tools' | 'prompts' | 'resources', profile?: string): void {
    const notify = this.handlers.get(profile)?.handler.notify;
    if (notify === undefined) return;
    if (kind === 'tools') notify.toolsChanged();
    else if (kind === 'prompts') notify.promptsChanged();
    else notify.resourcesChanged();
  }

  /** Publishes `notifications/resources/updated` to the open `subscriptions/listen` streams subscribed to `uri`. */
  notifyResourceUpdated(uri: string): void {
    for (const { handler } of this.handlers.values()) handler.notify.resourceUpdated(uri);
  }

  /** Whether `profile` (undefined: the root) has a handler now: made at its first request, until retired. */
  hasHandler(profile: string | undefined): boolean {
    return this.handlers.has(profile);
  }

  /**
   * Lets go of the handler and the fast path's endpoint of `profile`, which a reload removed (the
   * HTTP layer refuses its URL from now on; if it comes back, its next request makes new ones).
   * The requests it is answering are answered; once they are, the handler is closed, which ends its
   * `subscriptions/listen` streams (they have been told their lists changed first, by the caller).
   */
  retire(profile: string): void {
    this.removed.add(profile);
    this.fastPath?.forget(profile);
    const made = this.handlers.get(profile);
    if (!made) return;
    this.handlers.delete(profile);
    this.retiring.add(made);
    void made.answers.settled().then(() => {
      if (!this.retiring.delete(made)) return; // closed by close() meanwhile
      made.handler.close().catch((error: unknown) => {
        this.log.warn({ err: String(error), profile }, "closing a removed profile's handler failed");
      });
    });
  }

  /** The handler of `profile`, made at its first request. */
  private handlerOf(profile: string | undefined): Handler {
    const known = this.handlers.get(profile);
    if (known) return known;
    const { log, maxRequestBodySize } = this;
    // The SDK builds a server only for a request it serves, after its own checks (the standard
    // headers, the envelope, the client's capabilities): a refused request names no client.
    const handler = createMcpHandler(
      () => {
        this.accepted.getStore()?.();
        return this.newServer(profile);
      },
      {
        legacy: 'reject',
        maxRequestBodySize,
        onerror: error => log.debug({ err: error.message }, 'modern endpoint error')
      }
    );
    const node = toNodeHandler(handler, {
      maxRequestBodySize,
      onerror: error => log.warn({ err: error.message }, 'modern endpoint failure')
    });
    const made = { handler, node, answers: new OpenAnswers() };
    this.handlers.set(profile, made);
    return made;
  }

  /**
   * Answers a `tools/call` whose `Mcp-Param-*` headers disagree with its arguments (SEP-2243) with
   * HTTP 400 and `-32020`, as the SDK answers for an `McpServer`; true when it did.
   */
  private refusedParamHeaders(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    profile: string | undefined
  ): boolean {
    const request = body as {
      id?: unknown;
      method?: unknown;
      params?: { name?: unknown; arguments?: unknown };
    } | null;
    if (request?.method !== 'tools/call' || typeof request.params?.name !== 'string' || !this.inputSchemaOf)
      return false;
    const tool = request.params.name;
    const declarations = headerDeclarations(this.inputSchemaOf(tool, profile));
    if (!declarations || declarations.length === 0) return false;
    const mismatch = paramHeaderMismatch(declarations, request.params.arguments, name => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    });
    if (!mismatch) return false;
    const message = `Bad Request: the request headers and body disagree: ${mismatch.message} (tool ${tool} mirrors this argument into the ${mismatch.header} header: send the header with the argument's value, or leave both out)`;
    res.writeHead(400, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: request.id ?? null,
        error: {
          code: HEADER_MISMATCH,
          message,
          data: { mismatch: { header: mismatch.header, body: mismatch.message } }
        }
      })
    );
    return true;
  }

  /**
   * The gateway's subscriptions upstream for a `subscriptions/listen` stream's
   * `resourceSubscriptions`, held while the stream is open; the SDK's bus delivers the updates.
   * Returns the body with only the URIs the caller may subscribe to: one outside the profile, one that routes nowhere or
   * outside its token's scope is left out, so the SDK's acknowledgement does not list it and no
   * other caller's subscription brings its updates to this stream.
   */
  private subscribeStream(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    profile: string | undefined
  ): unknown {
    const request = body as { params?: { notifications?: { resourceSubscriptions?: unknown } } };
    const uris = request.params?.notifications?.resourceSubscriptions;
    if (!this.subscriptions || !Array.isArray(uris)) return body;
    const subscriptions = this.subscriptions;
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth);
    const allowed = uris.filter(
      (uri): uri is string =>
        typeof uri === 'string' &&
        subscriptions.mayUse(principal, uri) &&
        (profile === undefined || this.inProfile?.(uri, profile) !== false)
    );
    for (const uri of allowed) subscriptions.subscribe(res, uri, undefined, principal).catch(() => undefined);
    res.once('close', () => subscriptions.drop(res));
    return {
      ...request,
      params: {
        ...request.params,
        notifications: { ...request.params!.notifications, resourceSubscriptions: allowed }
      }
    };
  }

  /** Resolves once every request being served has been answered, or after `timeoutMs`. */
  answered(timeoutMs: number): Promise<void> {
    return this.answers.settled(timeoutMs);
  }

  async close(): Promise<void> {
    const all = [...this.handlers.values(), ...this.retiring];
    this.retiring.clear();
    await Promise.all(all.map(({ handler }) => handler.close()));
  }
}

/**
 * Answers a request whose profile a reload removed while it was being served: 404 and the error
 * the HTTP layer gives for an unknown profile, said as what happened.
 */
function refuseRemoved(res: ServerResponse, body: unknown, profile: string): void {
  const id = (body as { id?: unknown } | null)?.id;
  const text = JSON.stringify({
    jsonrpc: '2.0',
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
    error: {
      code: -32000,
      message: `Unknown profile "${profile}": a reload removed it from servers.yaml while this request was being served`
    }
  });
  res
    .writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}
