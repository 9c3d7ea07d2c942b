import type { ServerResponse } from 'node:http';

/** How often a standing stream's credentials are checked again: the token store's cache period. */
const RECHECK_MS = 2_000;

/**
 * What a new check of a stream's credentials says: why it is refused now, or undefined while it
 * holds (a check that could not be made, such as an unreachable key set, holds too).
 */
export type Recheck = () => Promise<string | undefined>;

/**
 * The responses that stand open after their credentials were checked once — a 2025-era session's
 * GET stream, an HTTP+SSE session, `/api/events` — each checked again every {@link RECHECK_MS} and
 * ended once its token is refused (revoked, expired, no longer admin). Without it a revoked token
 * kept receiving everything its open streams carry; its next request was refused, but a stream
 * makes none.
 */
export class StandingStreams {
  private readonly open = new Map<ServerResponse, Recheck>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly onRefused: (res: ServerResponse, reason: string) => void,
    private readonly intervalMs = RECHECK_MS
  ) {}

  /** Checks `res`'s credentials with `recheck` while it is open. */
  watch(res: ServerResponse, recheck: Recheck): void {
    if (res.writableEnded || res.destroyed) return;
    this.open.set(res, recheck);
    res.once('close', () => this.forget(res));
    this.timer ??= setInterval(() => void this.checkAll(), this.intervalMs).unref();
  }

  /** Responses watched now. */
  get size(): number {
    return this.open.size;
  }

  /** Stops checking (shutdown); the responses are the server's to close. */
  close(): void {
    this.open.clear();
    this.stopTimer();
  }

  private forget(res: ServerResponse): void {
    this.open.delete(res);
    if (this.open.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round over every open response; a round still running when the next is due skips it. */
  private async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(
        [...this.open].map(async ([res, recheck]) => {
          const reason = await recheck().catch(() => undefined);
          if (reason === undefined || !this.open.has(res)) return;
          this.forget(res);
          this.onRefused(res, reason);
          res.end();
        })
      );
    } finally {
      this.checking = false;
    }
  }
}
