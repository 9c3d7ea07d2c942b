import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';

/** Wrong admin passwords taken per minute from every address together; more get 429 first. */
export const WRONG_PASSWORDS_PER_MINUTE = 30;

/**
 * The bound on wrong admin passwords from all addresses together, shared by every form that takes
 * the password (the dashboard login, the OAuth consent page). Their per-address limits key on the
 * client's address, which a process on this host can make up: `X-Forwarded-For` is believed from
 * loopback, where a reverse proxy runs. This bound holds whatever addresses are claimed. While it is
 * spent every such form gets 429, the owner's too: guessing stops for everyone until it refills (a
 * token bucket holding one minute's worth).
 */
export class PasswordGuesses {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perMinute = WRONG_PASSWORDS_PER_MINUTE,
    private readonly now: () => number = Date.now
  ) {
    this.tokens = perMinute;
    this.at = now();
  }

  /** In front of a password check: 429 with `Retry-After` while the bound is spent. */
  readonly gate: RequestHandler = (_req, _res, next) => {
    this.refill();
    if (this.tokens >= 1) {
      next();
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(((1 - this.tokens) * 60) / this.perMinute));
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
    this.refill();
    this.tokens -= 1;
  }

  private refill(): void {
    const time = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((time - this.at) * this.perMinute) / 60_000);
    this.at = time;
  }
}
