import type { ServerResponse } from 'node:http';

/**
 * Responses that will carry answers to requests still being served (a POST's JSON body or SSE
 * stream). Shutdown waits on them so that the answers it provokes are written before it closes the
 * sessions and the sockets under them. Streams that carry no answer of their own (a session's GET
 * stream, a 2026-era `subscriptions/listen`) are not tracked: nothing ends them but a close.
 */
export class OpenAnswers {
  private readonly open = new Set<object>();
  private readonly waiters = new Set<() => void>();

  /** Tracks `res` until it closes; one already closed (its caller gone while it waited) is not. */
  track(res: ServerResponse): void {
    if (res.closed) return;
    this.open.add(res);
    res.once('close', () => this.release(res));
  }

  /**
   * Holds shutdown until the returned function is called: for an answer written somewhere other than
   * a response of its own (the 2024-11-05 SSE stream). Calling it again does nothing.
   */
  hold(): () => void {
    const answer = {};
    this.open.add(answer);
    return () => this.release(answer);
  }

  private release(answer: object): void {
    if (this.open.delete(answer) && this.open.size === 0) for (const wake of this.waiters) wake();
  }

  /**
   * Resolves once every tracked response has ended, or after `timeoutMs` (none: no time limit),
   * whichever is first.
   */
  settled(timeoutMs = Infinity): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise(resolve => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      // No timer without a limit (setTimeout would take Infinity as 1 ms).
      const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
      this.waiters.add(done);
    });
  }
}
