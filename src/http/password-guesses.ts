import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';
import { TokenBucket } from './token-bucket.js';

/** Wrong admin passwords taken per minute from every address together; more get 429 first. */
export const WRONG_PASSWORDS_PER_MINUTE = 30;

/**
 * The bound on wrong admin passwords from all addresses together, shared by every form that takes
 * the password (the dashboard login, the OAuth consent page). Their per-address limits key on the
 * client's address, which a process on this host can make up: `X-Forwarded-For` is believed from
 * loopback, where a reverse proxy runs. This bound holds whatever addresses are claimed. While it is
 * spent every such form gets 429, the owner's too: guessing stops for everyone until it refills
 * ({@link TokenBucket}).
 */
export class PasswordGuesses {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly perMinute = WRONG_PASSWORDS_PER_MINUTE,
    private readonly now: () => number = Date.now
  ) {
    this.bucket = new TokenBucket(perMinute, now());
  }

  /** In front of a password check: 429 with `Retry-After` while the bound is spent. */
  readonly gate: RequestHandler = (_req, _res, next) => {
    if (this.bucket.has(this.now())) {
      next();
      return;
    }
    const retryAfter = this.bucket.retryAfterSeconds();
    next(
      new HttpError(
        429,
        -32000,
        `too many wrong admin passwords in the last minute, from all addresses together (at most ${this.perMinute}): try again in ${retryAfter} s`,
        { 'retry-after': String(retryAfter) }
      )
    );
  };

  /** Counts one wrong password. */
  wrong(): void {
    this.bucket.take(this.now());
  }
}
