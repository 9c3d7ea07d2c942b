import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Catalog } from '../../catalog/catalog.js';
import type { EventHub } from '../../events.js';
import type { ActivityQueries } from '../../store/activity-queries.js';
import type { CallRunner } from '../../sessions/call-runner.js';
import type { ServerStatuses } from '../../catalog/server-statuses.js';
import type { RemoteLogins } from '../../connectors/oauth/remote-logins.js';
import { CALL_OUTCOMES } from '../../store/activity-log.js';
import { AUDIT_EVENTS, type AuditLog } from '../../store/audit-log.js';
import { principalOf } from '../auth/authenticate.js';
import { HttpError } from '../http-error.js';
import { addAccessRoutes, type AccessList } from './access-routes.js';
import { createLoginRoutes } from './login-routes.js';
import { addReloadRoutes, type Reloads } from './reload-routes.js';
import { addQuarantineRoutes } from './quarantine-routes.js';
import { openApiDocument } from './openapi.js';
import { parseParams } from './params.js';
import { noServer } from './no-server.js';

export interface ApiOptions {
  /** The servers now and their status (the read model the dashboard shares). */
  readonly servers: ServerStatuses;
  readonly catalog: Catalog;
  readonly queries: ActivityQueries;
  /** Commits queued history so a read sees the latest writes. */
  readonly flushHistory: () => void;
  readonly events: EventHub;
  readonly runner: CallRunner;
  readonly audit: AuditLog;
  readonly version: string;
  /** Logins to remote servers with `auth: oauth`; without, `/servers/:id/login` answers 404. */
  readonly logins?: RemoteLogins | undefined;
  /** Reloads of servers.yaml. */
  readonly reloads: Reloads;
  /** The gateway's tokens and OAuth grants, listed and revoked at `/tokens`. */
  readonly access: AccessList;
}

const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const RequestsQuery = z.strictObject({
  server: z.string().min(1).optional(),
  tool: z.string().min(1).optional(),
  outcome: z.enum(CALL_OUTCOMES).optional(),
  session: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  before: z.coerce.number().int().positive().optional(),
  after: z.coerce.number().int().nonnegative().optional(),
  limit: limit(1000, 100)
});
const SessionsQuery = z.strictObject({
  state: z.enum(['open', 'closed', 'all']).default('all'),
  limit: limit(1000, 100)
});
const AuditQuery = z.strictObject({
  event: z.enum(AUDIT_EVENTS).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: limit(1000, 100)
});
const ServerParams = z.strictObject({ id: z.string().min(1) });
const ToolParams = z.strictObject({ name: z.string().min(1) });
const SessionParams = z.strictObject({ id: z.string().min(1) });
const ToolArguments = z.record(z.string(), z.unknown(), {
  error: 'the body must be a JSON object of tool arguments'
});

/**
 * The operator's REST API under `/api`: server states and start/stop, the catalog (tools, prompts,
 * resources and templates, each with its server) and a plain-HTTP way to call a tool (the same
 * path as MCP `tools/call`), recorded sessions and requests, a live event stream, and the OpenAPI
 * document describing all of it. Handlers throw; the app turns what
 * they throw into an API error (`apiErrorOf`, in api-error.ts).
 */
export function createApiRouter(options: ApiOptions): Router {
  const router = Router();
  const upstreamOf = (req: Request) => {
    const { id } = parseParams(ServerParams, req.params, 'path');
    const upstream = options.servers.upstream(id);
    if (!upstream) throw new HttpError(404, -32602, noServer(id));
    return upstream;
  };
  const auditAction = (req: Request, res: Response, action: string, server: string) =>
    options.audit.record('admin_action', {
      principal: principalOf(res.locals)?.id,
      remoteAddress: req.socket.remoteAddress,
      detail: { action, server }
    });

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(options.version));
  });

  router.get('/servers', async (_req, res) => {
    res.json({ servers: await options.servers.all() });
  });

  router.post('/servers/:id/start', async (req, res) => {
    const upstream = upstreamOf(req);
    auditAction(req, res, 'start', upstream.id);
    await upstream.warm();
    res.json(await options.servers.of(upstream));
  });

  router.post('/servers/:id/stop', async (req, res) => {
    const upstream = upstreamOf(req);
    auditAction(req, res, 'stop', upstream.id);
    await upstream.stop('api');
    res.json(await options.servers.of(upstream));
  });

  router.use('/servers', createLoginRoutes(options.logins, options.audit));

  router.get('/tools', async (_req, res) => {
    const tools = await options.catalog.listTools(0);
    res.json({
      tools: tools.map(tool => {
        const route = options.catalog.resolve(tool.name);
        return { ...tool, server: route.serverId, serverTool: route.tool };
      })
    });
  });

  /** The server a prompt or resource routes to, or null when it routes nowhere now. */
  const serverOf = (route: () => { serverId: string }) => {
    try {
      return route().serverId;
    } catch {
      return null;
    }
  };

  router.get('/prompts', async (_req, res) => {
    const prompts = await options.catalog.list('prompts', 0);
    res.json({
      prompts: prompts.map(prompt => ({
        ...prompt,
        server: serverOf(() => options.catalog.resolvePrompt(prompt.name))
      }))
    });
  });

  router.get('/resources', async (_req, res) => {
    const [resources, resourceTemplates] = await Promise.all([
      options.catalog.list('resources', 0),
      options.catalog.list('resourceTemplates', 0)
    ]);
    res.json({
      resources: resources.map(resource => ({
        ...resource,
        server: serverOf(() => options.catalog.resolveResource(resource.uri))
      })),
      resourceTemplates: resourceTemplates.map(template => ({
        ...template,
        server: serverOf(() => options.catalog.resolveResource(template.uriTemplate))
      }))
    });
  });

  router.post('/tools/:name/call', async (req, res) => {
    const { name } = parseParams(ToolParams, req.params, 'path');
    // No body is no arguments; a JSON null (or any other non-object) is refused, not read as none.
    const args = parseParams(ToolArguments, req.body === undefined ? {} : req.body, 'body');
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    res.json(await options.runner.run(name, args, { clientKey: 'api', signal: controller.signal }));
  });

  router.get('/sessions', (req, res) => {
    const query = parseParams(SessionsQuery, req.query, 'query');
    options.flushHistory();
    res.json({
      sessions: options.queries.sessions(query.limit, query.state),
      clients: options.queries.clients(query.limit)
    });
  });

  router.get('/sessions/:id', (req, res) => {
    const { id } = parseParams(SessionParams, req.params, 'path');
    options.flushHistory();
    const session = options.queries.session(id);
    if (!session) {
      throw new HttpError(
        404,
        -32602,
        `no session "${id}" is recorded (it may have been pruned by history.retentionDays); GET /api/sessions lists them`
      );
    }
    res.json({ ...session, requests: options.queries.requests({ session: id, limit: 1000 }) });
  });

  router.get('/requests', (req, res) => {
    const query = parseParams(RequestsQuery, req.query, 'query');
    options.flushHistory();
    const requests = options.queries.requests(query);
    const last = requests[requests.length - 1];
    res.json({ requests, nextBefore: requests.length === query.limit && last ? last.id : null });
  });

  router.get('/events', (req, res) => streamEvents(options.events, req, res));

  addReloadRoutes(router, options.reloads, options.audit);
  addAccessRoutes(router, options.access, options.audit);
  addQuarantineRoutes(router, options.catalog, id => options.servers.upstream(id) !== undefined);

  router.get('/audit', (req, res) => {
    const query = parseParams(AuditQuery, req.query, 'query');
    const entries = options.audit.list(query.limit, query.before, query.event);
    const last = entries[entries.length - 1];
    res.json({ entries, nextBefore: entries.length === query.limit && last ? last.id : null });
  });

  router.use((req, _res, next) => {
    const allowed = methodsAt(router, req.path);
    next(
      allowed.length > 0
        ? new HttpError(
            405,
            -32601,
            `${req.method} is not a method of /api${req.path}; it takes ${allowed.join(', ')}`,
            { allow: allowed.join(', ') }
          )
        : new HttpError(
            404,
            -32601,
            `no API route ${req.method} /api${req.path}; GET /api/openapi.json lists the routes and their methods`
          )
    );
  });
  return router;
}

/** A route layer of an express router, as far as {@link methodsAt} reads it. */
interface RouteLayer {
  readonly route?: { readonly methods: Record<string, boolean | undefined> };
  match(path: string): boolean;
}

/** The methods `router`'s routes take at `path` (none: no route there), HEAD with GET as express serves it. */
function methodsAt(router: Router, path: string): string[] {
  const methods = new Set<string>();
  // router 2's layers have match() and route.methods; express's types name neither.
  for (const layer of router.stack as unknown as RouteLayer[]) {
    if (!layer.route || !layer.match(path)) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods];
}

/** Server-sent events: one `event:` per gateway event, a comment every 15 s to keep proxies open. */
function streamEvents(events: EventHub, req: Request, res: Response): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  });
  res.write(': connected\n\n');
  const unsubscribe = events.subscribe(event => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}
