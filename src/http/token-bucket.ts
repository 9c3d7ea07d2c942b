/**
 * A token bucket holding one minute's worth of `perMinute`, refilled continuously: full at first,
 * one token per request or guess. Times are ms since the epoch, given by the caller.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perMinute: number,
    now: number
  ) {
    this.tokens = perMinute;
    this.at = now;
  }

  /** Whether a whole token is there at `now`. */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Takes a token at `now` if a whole one is there; false when not (nothing is taken). */
  tryTake(now: number): boolean {
    if (!this.has(now)) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes one token at `now`; the balance may go below zero (the wait then grows). */
  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** Whole seconds until a token is there (at least 1), for `Retry-After`. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 60) / this.perMinute));
  }

  /** When it was last refilled or taken from: an idle bucket may be dropped. */
  get lastUsed(): number {
    return this.at;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
  }
}
