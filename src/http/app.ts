import type { IncomingHttpHeaders } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { principalOfAuth, profileRefusal } from '../auth/principal.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { classifyPost } from '../sessions/inbound-classification.js';
import type { LegacySessions } from '../sessions/legacy-sessions.js';
import type { ModernEndpoint } from '../sessions/modern-endpoint.js';
import { SSE_MESSAGES_PATH, type SseSessions } from '../sessions/sse-sessions.js';
import { apiErrorOf } from './api/api-error.js';
import { challengeOf } from './auth/authenticate.js';
import { apiBodyGuard, hostAndOriginGuard, jsonDepthGuard, mcpPostGuard } from './guards.js';
import { HttpError, toHttpError } from './http-error.js';
import { jsonBody } from './json-body.js';

/**
 * The common case decided at a glance: a single JSON-RPC request or notification with no
 * `io.modelcontextprotocol/*` claim in its `_meta` and no 2026-era protocol header is 2025-era
 * traffic (the SDK's own rule). Anything else — batches, claims, modern headers, bodies that are
 * not JSON-RPC — goes through {@link isLegacyPost}, the SDK's classifier; a property test holds the
 * two to the same answers.
 */
export function isPlainLegacy(header: string | string[] | undefined, body: unknown): boolean {
  if (header !== undefined && !(typeof header === 'string' && /^20(24|25)-/.test(header))) return false;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const message = body as { jsonrpc?: unknown; method?: unknown; params?: { _meta?: unknown } };
  if (message.jsonrpc !== '2.0' || typeof message.method !== 'string') return false;
  const meta = message.params?._meta;
  if (meta === undefined) return true;
  if (meta === null || typeof meta !== 'object') return false;
  return !Object.keys(meta).some(key => key.startsWith('io.modelcontextprotocol/'));
}

/**
 * The SDK's era decision for a POST whose body is parsed: exactly what its `isLegacyRequest` decides
 * (the same `classifyInboundRequest` on the same headers and body), without building a web Request
 * for it first. A POST with no JSON body is the legacy side's to refuse, as there.
 */
export function isLegacyPost(headers: IncomingHttpHeaders, body: unknown): boolean {
  if (body === undefined) return true;
  return classifyPost(headers, body).kind === 'legacy';
}

export interface AppOptions {
  readonly legacy: LegacySessions;
  readonly modern: ModernEndpoint;
  /** The 2024-11-05 HTTP+SSE transport: `GET /sse` and `POST /messages`. */
  readonly sse: SseSessions;
  /**
   * The body of `GET /healthz`, from what is known, at once: a container's HEALTHCHECK gives it 5 s
   * however slow the engine is, so nothing here may wait on it.
   */
  readonly health: () => Record<string, unknown>;
  /** `GET /readyz`: 200 when ready, else 503; the body says what is wrong. */
  readonly readiness: () => Promise<{ ready: boolean } & Record<string, unknown>>;
  /** `GET /metrics` in Prometheus text format. */
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  /** The REST API, mounted at `/api`. */
  readonly api: express.Router;
  /**
   * Routes under `/api` open to every authenticated principal (checked before `/api`'s admin gate):
   * built with the `forMcp` handlers, each authenticates only what it serves.
   */
  readonly ownApi?: ((authenticate: readonly express.RequestHandler[]) => express.Router) | undefined;
  /** The dashboard, mounted at `/ui` (it serves the API again at `/ui/api`, behind its own login). */
  readonly dashboard?: express.Router | undefined;
  /** The gateway's logins to remote servers: their callback and client metadata document, public. */
  readonly remoteOAuth?: express.Router | undefined;
  /** Who may call: metadata and OAuth routes, and the middleware in front of /mcp and of /api and /metrics. */
  readonly security: {
    readonly metadata: express.Router;
    readonly forMcp: readonly express.RequestHandler[];
    readonly forAdmin: readonly express.RequestHandler[];
  };
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  /** Largest accepted request body; more gets 413. */
  readonly maxBodyBytes: number;
  /** The profiles served at `/mcp/<profile>` (and `/sse/<profile>`) now; none: only the root. */
  readonly profiles?: (() => readonly string[]) | undefined;
  /** False once shutdown has begun: new MCP requests get 503. */
  readonly accepting: () => boolean;
  readonly log: Logger;
}

/**
 * The HTTP face of the gateway. `/mcp` serves both protocol eras: a POST is classified by the
 * SDK's `isLegacyRequest` and goes to the 2025-era sessions or the 2026-era endpoint; GET and
 * DELETE are session operations and always go to the sessions. `/sse` and `/messages` serve the
 * 2024-11-05 HTTP+SSE transport behind the same guards, auth and limits.
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind a proxy on this machine (Caddy, nginx), req.ip is the real client.
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');
  app.use(hostAndOriginGuard(options.allowedHosts, options.allowedOrigins));
  app.use(options.security.metadata);
  if (options.remoteOAuth) app.use(options.remoteOAuth);
  const { forMcp, forAdmin } = options.security;

  app.get('/healthz', (_req, res) => {
    res.json(options.health());
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await options.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  app.get('/metrics', ...forAdmin, async (_req, res) => {
    const { contentType, body } = await options.metrics();
    res.type(contentType).send(body);
  });
  if (options.ownApi) app.use('/api', options.ownApi(forMcp));
  app.use(
    '/api',
    ...forAdmin,
    apiBodyGuard,
    express.json({ limit: options.maxBodyBytes, strict: false }),
    jsonDepthGuard,
    options.api
  );
  if (options.dashboard) app.use('/ui', options.dashboard);

  const refuseWhileDraining: express.RequestHandler = (_req, _res, next) => {
    next(
      options.accepting()
        ? undefined
        : new HttpError(503, -32000, 'The gateway is shutting down', { 'retry-after': '5' })
    );
  };

  const json = jsonBody(options.maxBodyBytes);

  // `/mcp/<profile>` and `/sse/<profile>` serve a profile as `/mcp` and `/sse` serve everything.
  // After authentication: an unknown profile is 404 with the known names, and a principal bound
  // to profiles is refused (403) everywhere else, the root included. A POST is checked again once
  // its body is in, just before it is served: a reload that removes the profile while the body
  // arrives then refuses it, instead of letting it make the removed profile's handler again.
  const profileOf = (req: express.Request): string | undefined =>
    (req.params as { profile?: string }).profile;
  const profileGate: express.RequestHandler = (req, res, next) => {
    const profile = profileOf(req);
    const known = options.profiles?.() ?? [];
    if (profile !== undefined && !known.includes(profile)) {
      const served =
        known.length === 0
          ? 'it has no profiles (profiles: in servers.yaml); use /mcp'
          : `its profiles are ${known.join(', ')} (at /mcp/<profile>), besides /mcp`;
      next(
        new HttpError(
          404,
          -32000,
          `Unknown profile "${profile}": this gateway serves no such profile; ${served}`
        )
      );
      return;
    }
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth);
    const refusal = profileRefusal(principal, profile);
    if (refusal === undefined) {
      next();
      return;
    }
    // An OAuth token is bound to the URL it was issued for (its resource): at another one it is
    // not a token of this resource (RFC 6750 invalid_token, 401), and the challenge sends the
    // client to this URL's metadata to authorize for it. A gateway token's binding is the
    // operator's choice: 403, with the URLs it may use.
    const challenge = principal?.kind === 'oauth' ? challengeOf(res.locals) : undefined;
    next(
      challenge
        ? new HttpError(401, -32001, refusal, { 'www-authenticate': challenge('invalid_token', refusal) })
        : new HttpError(403, -32001, refusal)
    );
  };

  for (const path of ['/mcp', '/mcp/:profile']) {
    const gated = [refuseWhileDraining, ...forMcp, profileGate, mcpPostGuard, json, profileGate];
    app.post(path, ...gated, async (req, res) => {
      const body: unknown = req.body;
      const profile = profileOf(req);
      const legacy =
        isPlainLegacy(req.headers['mcp-protocol-version'], body) || isLegacyPost(req.headers, body);
      await (legacy
        ? options.legacy.handle(req, res, body, profile)
        : options.modern.handle(req, res, body, profile));
    });
    app.get(path, refuseWhileDraining, ...forMcp, profileGate, (req, res) =>
      options.legacy.handle(req, res, undefined, profileOf(req))
    );
    app.delete(path, ...forMcp, profileGate, (req, res) =>
      options.legacy.handle(req, res, undefined, profileOf(req))
    );
    app.all(path, (_req, _res, next) => {
      next(new HttpError(405, -32000, 'Method not allowed', { allow: 'GET, POST, DELETE' }));
    });
  }

  app.get(['/sse', '/sse/:profile'], refuseWhileDraining, ...forMcp, profileGate, (req, res) =>
    options.sse.open(req, res, profileOf(req))
  );
  app.post(SSE_MESSAGES_PATH, refuseWhileDraining, ...forMcp, json, (req, res) =>
    options.sse.post(req, res, req.body)
  );
  app.all(['/sse', '/sse/:profile', SSE_MESSAGES_PATH], (req, _res, next) => {
    next(
      new HttpError(405, -32000, 'Method not allowed', {
        allow: req.path === SSE_MESSAGES_PATH ? 'POST' : 'GET'
      })
    );
  });

  app.use((_req, _res, next) => {
    next(new HttpError(404, -32000, 'Not found'));
  });

  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    // The dashboard's routes (its API, login and page data) answer errors in the API's shape too.
    if (['/api', '/ui'].some(prefix => req.path === prefix || req.path.startsWith(`${prefix}/`))) {
      const apiError = apiErrorOf(error);
      if (apiError.internal) {
        options.log.error({ err: describeError(error), path: req.path }, 'request failed');
      }
      if (res.headersSent) res.end();
      else res.status(apiError.status).set(apiError.headers).json(apiError.body);
      return;
    }
    const httpError = toHttpError(error);
    // A 503 is a refusal with Retry-After (busy, shutting down), not a failure: logged at debug, as a
    // flood of them (the body budget under abuse) must not flood the log.
    if (httpError.status === 503) {
      options.log.debug({ err: httpError.message, path: req.path }, 'request refused (503)');
    } else if (httpError.status >= 500) {
      options.log.error(
        { err: error instanceof Error ? error.message : String(error), path: req.path },
        'request failed'
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res
      .status(httpError.status)
      .set(httpError.headers)
      .json({ jsonrpc: '2.0', error: { code: httpError.rpcCode, message: httpError.message }, id: null });
  };
  app.use(onError);
  return app;
}
