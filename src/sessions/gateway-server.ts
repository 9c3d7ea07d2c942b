import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import type { CallToolResult, ListToolsResult, LoggingLevel, Progress } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import type { ProfileView } from '../catalog/profile-view.js';
import type { Profiles } from '../catalog/profiles.js';
import { toProtocolError } from '../errors.js';
import { clientKeyOf } from '../store/activity-log.js';
import { principalOfAuth } from '../auth/principal.js';
import { scopedToCaller } from './cache-scope.js';
import type { CallRunner } from './call-runner.js';
import { callerAsker } from './caller-asker.js';
import { inputRoundOf, type InputStates, type RoundRequest } from './input-states.js';
import { identityOf } from './client-identity.js';
import { FORWARDED_METHODS, type ForwardedMethod, type Resolver } from './forwarded-methods.js';
import { requestLogging, type SessionLogLevels } from './session-log-levels.js';
import { serveResourceSubscriptions, type ResourceSubscriptions } from './resource-subscriptions.js';
import { SEARCH_TOOLS, SearchTools, type Expose } from './search-tools.js';
import { withoutHopMeta } from '../upstream/hop-meta.js';

/** What every client-facing MCP server instance shares. */
export interface GatewayServerOptions {
  readonly catalog: Catalog;
  readonly name: string;
  readonly version: string;
  /**
   * Text for clients: which servers stand behind the gateway (or the profile, when one is named); a
   * function is asked anew for each server built.
   */
  readonly instructions: string | ((profile: string | undefined) => string);
  /** The profiles of servers.yaml, for a server built for one (none: only the root is served). */
  readonly profiles?: Profiles | undefined;
  /** How long a `tools/list` waits for startup discovery before answering with what is known. */
  readonly listWaitMs: number;
  /** Tools per `tools/list` page. */
  readonly pageSize: number;
  /** Runs calls (scope, limits) and tells the observers (logging, history, metrics). */
  readonly runner: CallRunner;
  /** Where a 2025-era session's `logging/setLevel` is kept, for the logs no request asked for. */
  readonly logLevels?: SessionLogLevels;
  /** Resource subscriptions, when some server offers them (none: `resources/subscribe` is not served). */
  readonly subscriptions?: ResourceSubscriptions;
  /** Seals the `requestState` of the `input_required` results passed to 2026-era clients (none: not passed). */
  readonly inputStates?: InputStates | undefined;
  /** `search`: clients are listed `search_tools` and `call_tool` instead of every tool (default `all`). */
  readonly expose?: Expose | undefined;
}

/** The list methods: each pages through one kind of the catalog. */
const LIST_METHODS = [
  { method: 'prompts/list', kind: 'prompts', advertised: 'prompts' },
  { method: 'resources/list', kind: 'resources', advertised: 'resources' },
  { method: 'resources/templates/list', kind: 'resourceTemplates', advertised: 'resources' }
] as const;

/**
 * Builds one client-facing MCP server: a low-level {@link Server} whose `tools/list` and
 * `tools/call` answer from the catalog, and whose prompt, resource and completion methods (those
 * the servers behind offer) are answered from the catalog's lists or forwarded to the one server a
 * name or URI leads to, by the rows of {@link FORWARDED_METHODS}. A 2025-era session keeps one for
 * its lifetime; a 2026-era request gets a fresh one. Upstream definitions and results pass through
 * unchanged, but for the names and URIs the catalog rewrites.
 */
export function createGatewayServer(options: GatewayServerOptions, profile?: string): Server {
  // The profile's view, asked for on each request: a reload may have changed it since.
  const viewOf = (): ProfileView | undefined => {
    if (profile === undefined) return undefined;
    const view = options.profiles?.get(profile);
    if (view) return view;
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      `profile ${profile} is no longer in servers.yaml (a reload removed it); connect to /mcp or to another profile's URL`
    );
  };
  const offered = options.catalog.offered();
  const subscribe = offered.subscribe && options.subscriptions !== undefined;
  const server = new Server(
    { name: options.name, version: options.version },
    {
      capabilities: {
        tools: { listChanged: true },
        // The gateway answers `logging/setLevel` itself and relays the servers' messages.
        logging: {},
        ...(offered.prompts ? { prompts: { listChanged: true } } : {}),
        ...(offered.resources
          ? { resources: { listChanged: true, ...(subscribe ? { subscribe } : {}) } }
          : {}),
        ...(offered.completions ? { completions: {} } : {})
      },
      instructions:
        typeof options.instructions === 'string' ? options.instructions : options.instructions(profile),
      ...(options.inputStates ? { requestState: { verify: options.inputStates.verify } } : {})
    }
  );

  // A 2025-era session's level, applied to its calls; a 2026-era request names its own in `_meta`
  // (the SDK answers its `logging/setLevel` with -32601, as that era has no such method).
  let sessionLevel: LoggingLevel | undefined;
  server.setRequestHandler('logging/setLevel', (request, ctx) => {
    sessionLevel = request.params.level;
    options.logLevels?.set(server, sessionLevel, principalOfAuth(ctx.http?.authInfo));
    return {};
  });

  // Tool search (`expose: search`): the profile's setting, else the gateway's; asked per request,
  // as a reload may change a profile. It searches what this endpoint lists (the profile's view).
  const searching = (): boolean => (viewOf()?.config.expose ?? options.expose) === 'search';
  const search = new SearchTools({
    tools: () => viewOf()?.list('tools', options.listWaitMs) ?? options.catalog.listTools(options.listWaitMs),
    allows: (principal, name) => options.runner.allows(principal, catalogToolName(name))
  });
  /** The catalog's name of a tool this endpoint lists as `name` (a profile's may be shortened). */
  const catalogToolName = (name: string): string => viewOf()?.toolName(name) ?? name;

  server.setRequestHandler('tools/list', async (request, ctx) => {
    if (searching()) return { tools: [...SEARCH_TOOLS] };
    const principal = principalOfAuth(ctx.http?.authInfo);
    const view = viewOf();
    const all = view
      ? await view.list('tools', options.listWaitMs)
      : await options.catalog.listTools(options.listWaitMs);
    // Scopes name the catalog's tools: a profile's (maybe shortened) name is checked as that one.
    const tools = principal
      ? all.filter(tool => options.runner.allows(principal, view ? view.toolName(tool.name) : tool.name))
      : all;
    const page = pageOf(tools, request.params?.cursor, options.pageSize);
    const result: ListToolsResult = { tools: page.items };
    if (page.nextCursor !== undefined) result.nextCursor = page.nextCursor;
    return result;
  });

  for (const { method, kind, advertised } of LIST_METHODS) {
    if (!offered[advertised]) continue;
    server.setRequestHandler(method, async (request, ctx) => {
      const principal = principalOfAuth(ctx.http?.authInfo);
      const view = viewOf();
      const all: readonly { name: string; uri?: string; uriTemplate?: string }[] = await (
        view ?? options.catalog
      ).list(kind, options.listWaitMs);
      const items = principal
        ? all.filter(item =>
            options.runner.allowsServer(principal, serverOfItem(view ?? options.catalog, kind, item))
          )
        : all;
      const page = pageOf(items, request.params?.cursor, options.pageSize);
      return {
        [kind]: page.items,
        ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
      } as never;
    });
  }

  for (const [method, row] of Object.entries(FORWARDED_METHODS)) {
    if (!offered[row.kind]) continue;
    const forwarded = row as ForwardedMethod<unknown, Record<string, unknown>>;
    server.setRequestHandler(method as keyof typeof FORWARDED_METHODS, async (request, ctx) => {
      const { _meta: meta, ...params } = (request.params ?? {}) as { _meta?: Record<string, unknown> };
      const { progressToken, ...forwardedMeta } = meta ?? {};
      const logging = requestLogging(ctx, sessionLevel);
      const sent = Object.keys(forwardedMeta).length > 0 ? { ...params, _meta: forwardedMeta } : params;
      try {
        const route = forwarded.resolve(viewOf() ?? options.catalog, sent);
        const local = forwarded.answerLocally?.(options.catalog, route);
        if (local) return local as never;
        const principal = principalOfAuth(ctx.http?.authInfo);
        const subject = forwarded.subject(route);
        const round = forwarded.mayRequireInput
          ? inputRoundOf(options.inputStates, ctx, `${method} ${subject.kind} ${route.name}`)
          : undefined;
        const send = (request?: RoundRequest) =>
          options.runner.forward(route, subject, forwarded.forward(route, sent), {
            principal,
            signal: request?.signal ?? ctx.mcpReq.signal,
            onprogress: request?.onprogress ?? progressTo(ctx, progressToken),
            onlog: request?.onlog ?? logging.onlog,
            logLevel: logging.level,
            asker: request?.asker ?? callerAsker(server, ctx),
            inputRequired: request?.retry
          });
        const sinks = { onprogress: progressTo(ctx, progressToken), onlog: logging.onlog };
        const result = round ? await round.run(sinks, send) : await send();
        // The server's identity is not the caller's to see (the gateway stamps its own), and a
        // server's `public` cache hint holds for its own callers, not for the gateway's scoped ones.
        return scopedToCaller(withoutHopMeta(result), principal) as never;
      } catch (error) {
        throw toProtocolError(error);
      }
    });
  }

  if (subscribe) {
    serveResourceSubscriptions(server, options.subscriptions, uri => viewOf()?.resolveResource(uri));
  }

  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    const { name: called, arguments: calledArgs, _meta: meta } = request.params;
    const { progressToken, ...forwardedMeta } = meta ?? {};
    const logging = requestLogging(ctx, sessionLevel);
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    // The one path of a tool's call; `call_tool` takes it too, with the real tool's name.
    const direct = async (asked: string, args: Record<string, unknown> | undefined) => {
      // Through a profile, the call runs under the catalog's name: scope, history and routing are its.
      const name = catalogToolName(asked);
      // A 2026-era caller answers the server's questions with a retry, in rounds (see input-states.ts).
      const round = inputRoundOf(options.inputStates, ctx, `tool ${name}`);
      const run = (request?: RoundRequest) =>
        options.runner.run(name, args, {
          principal: principalOfAuth(ctx.http?.authInfo),
          sessionId: ctx.sessionId,
          profile,
          // A 2026-era request names its client in its envelope; a session was named at initialize.
          clientKey:
            envelope && ctx.sessionId === undefined
              ? clientKeyOf(identityOf(envelope, undefined, principalOfAuth(ctx.http?.authInfo)?.id))
              : undefined,
          signal: request?.signal ?? ctx.mcpReq.signal,
          meta: Object.keys(forwardedMeta).length > 0 ? forwardedMeta : undefined,
          onprogress: request?.onprogress ?? progressTo(ctx, progressToken),
          onlog: request?.onlog ?? logging.onlog,
          logLevel: logging.level,
          asker: request?.asker ?? callerAsker(server, ctx),
          inputRequired: request?.retry
        });
      const sinks = { onprogress: progressTo(ctx, progressToken), onlog: logging.onlog };
      return round ? await round.run(sinks, run) : await run();
    };
    try {
      if (searching() && search.handles(called)) {
        return await search.call(called, calledArgs, principalOfAuth(ctx.http?.authInfo), direct);
      }
      return await direct(called, calledArgs);
    } catch (error) {
      throw toProtocolError(error);
    }
  });

  return server;
}

/** Relays an upstream request's progress to the client, under the client's token (none without one). */
function progressTo(
  ctx: {
    mcpReq: { notify(notification: { method: 'notifications/progress'; params: never }): Promise<void> };
  },
  progressToken: unknown
): ((progress: Progress) => void) | undefined {
  if (progressToken === undefined) return undefined;
  return progress =>
    void ctx.mcpReq
      .notify({ method: 'notifications/progress', params: { ...progress, progressToken } as never })
      .catch(() => undefined);
}

/** One page of `items` from `cursor`, and the cursor of the next page if there is one. */
function pageOf<T>(
  items: readonly T[],
  cursor: string | undefined,
  pageSize: number
): { items: T[]; nextCursor: string | undefined } {
  const offset = decodeCursor(cursor);
  if (offset > items.length) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  const end = offset + pageSize;
  return { items: items.slice(offset, end), nextCursor: end < items.length ? encodeCursor(end) : undefined };
}

/** The server an exposed prompt, resource or template belongs to. */
function serverOfItem(
  catalog: Resolver,
  kind: 'prompts' | 'resources' | 'resourceTemplates',
  item: { name: string; uri?: string; uriTemplate?: string }
): string {
  try {
    if (kind === 'prompts') return catalog.resolvePrompt(item.name).serverId;
    return catalog.resolveResource(kind === 'resources' ? item.uri! : item.uriTemplate!).serverId;
  } catch {
    return '';
  }
}

/** The cursor of the page at `offset` (fast-path pages issue the same). */
export function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  return Number(match[1]);
}

/**
 * The gateway's instructions: one line per server with its description, and under it the server's
 * own instructions (from `own`, by server id), indented.
 */
export function describeServers(
  servers: readonly { id: string; description: string | undefined }[],
  own: ReadonlyMap<string, string> = new Map()
): string {
  const lines = servers.flatMap(server => {
    const line = `- ${server.id}${server.description ? `: ${server.description}` : ''}`;
    const instructions = own.get(server.id)?.trim();
    if (!instructions) return [line];
    return [line, ...instructions.split('\n').map(text => `    ${text}`.trimEnd())];
  });
  return [
    'This gateway serves the tools, prompts and resources of several MCP servers. Tool and prompt names are <server namespace>__<name>; resource URIs carry <server namespace>+ right after their scheme (ui://<namespace>+<rest>); each description starts with [server id].',
    'Servers:',
    ...lines
  ].join('\n');
}
