import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';

/** Hostnames that name this machine's loopback interface. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

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
