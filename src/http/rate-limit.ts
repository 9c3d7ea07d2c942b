import type { RequestHandler } from 'express';
import { principalOf } from './auth/authenticate.js';
import { HttpError } from './http-error.js';
import { TokenBucket } from './token-bucket.js';

/** Past this many tracked principals, idle buckets are dropped: memory stays bounded under a flood. */
const MAX_BUCKETS = 10_000;

/**
 * Per-principal request rate limit (a token bucket holding one minute's worth): over it, 429 with
 * `Retry-After`. Runs after authentication, so the principal is a token, an OAuth client, or the
 * connection's address when authentication is off. Where nothing authenticates (the login forms)
 * it is the client's address, `req.ip`: the `X-Forwarded-For` address when the connection comes
 * from loopback (a reverse proxy on this host; `trust proxy` in app.ts), so that browsers behind
 * such a proxy do not share one bucket.
 */
export function rateLimit(requestsPerMinute: number, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, TokenBucket>();
  return (req, res, next) => {
    const key = principalOf(res.locals)?.id ?? `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
    const time = now();
    let bucket = buckets.get(key);
    if (!bucket) {
      if (buckets.size >= MAX_BUCKETS) {
        for (const [name, b] of buckets) if (time - b.lastUsed > 60_000) buckets.delete(name);
        if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
      }
      bucket = new TokenBucket(requestsPerMinute, time);
      buckets.set(key, bucket);
    }
    if (!bucket.tryTake(time)) {
      next(
        new HttpError(429, -32000, `rate limit of ${requestsPerMinute} requests per minute exceeded`, {
          'retry-after': String(bucket.retryAfterSeconds())
        })
      );
      return;
    }
    next();
  };
}
