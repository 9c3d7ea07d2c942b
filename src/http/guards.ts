import { isJsonContentType } from '@modelcontextprotocol/server';
import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';

function hostnameOf(value: string): string | undefined {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * DNS-rebinding protection: the Host header must name an allowed host, and an Origin header, when
 * a browser sends one, an allowed origin host. Anything else gets 403 before any handler runs.
 */
export function hostAndOriginGuard(
  allowedHosts: readonly string[],
  allowedOrigins: readonly string[]
): RequestHandler {
  const hosts = new Set(allowedHosts.map(h => h.toLowerCase()));
  const origins = new Set(allowedOrigins.map(h => h.toLowerCase()));
  return (req, _res, next) => {
    const host = hostnameOf(req.headers.host ?? '');
    if (host === undefined || !hosts.has(host)) {
      next(
        new HttpError(403, -32000, `Forbidden: host ${JSON.stringify(req.headers.host ?? '')} is not allowed`)
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const originHost = hostnameOf(origin);
      if (originHost === undefined || !origins.has(originHost)) {
        next(new HttpError(403, -32000, `Forbidden: origin ${JSON.stringify(origin)} is not allowed`));
        return;
      }
    }
    next();
  };
}

/**
 * A POST to /mcp must send JSON (415 otherwise) and accept both JSON and an SSE stream in reply
 * (406 otherwise), as the Streamable HTTP transport requires.
 */
export const mcpPostGuard: RequestHandler = (req, _res, next) => {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    next(new HttpError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json'));
    return;
  }
  const accept = (req.headers.accept ?? '').toLowerCase();
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    next(
      new HttpError(406, -32000, 'Not Acceptable: Accept must list application/json and text/event-stream')
    );
    return;
  }
  next();
};

/**
 * A request to the REST API that carries a body must send it as JSON (415 otherwise). Why:
 * express.json leaves any other body unread and the request without one, which a route takes for
 * "nothing asked" (`curl -d` without a Content-Type sends a form): a call then ran with no
 * arguments, and an approve of some items approved everything held.
 */
export const apiBodyGuard: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !isJsonContentType(req.headers['content-type'])) {
    const sent = req.headers['content-type'] ?? 'none';
    next(
      new HttpError(
        415,
        -32000,
        `Unsupported Media Type: send the body as JSON with Content-Type: application/json (this one: ${sent})`
      )
    );
    return;
  }
  next();
};

/** Deepest JSON nesting accepted in a body; deeper is refused before anything recurses over it. */
export const MAX_JSON_DEPTH = 128;

/** The nesting depth of a parsed JSON value, measured without recursion (so it cannot overflow). */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let deepest = 0;
  const items: unknown[] = [value];
  const depths: number[] = [1];
  while (items.length > 0) {
    const item = items.pop();
    const depth = depths.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') {
        items.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return deepest;
}

/** Refuses (400) a parsed body nested deeper than {@link MAX_JSON_DEPTH}. */
export const jsonDepthGuard: RequestHandler = (req, _res, next) => {
  // Each level takes at least two bytes ("[" and "]"): a shorter body cannot be too deep.
  const length = Number(req.headers['content-length'] ?? Infinity);
  if (!(length <= 2 * MAX_JSON_DEPTH) && jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    next(new HttpError(400, -32600, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
    return;
  }
  next();
};
