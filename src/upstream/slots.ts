/**
 * A counting semaphore with a bounded queue: at most `limit` holders, at most `queueLimit`
 * waiting, first come first served. Past both, `acquire` fails at once with `busy()`: memory never
 * grows with the number of callers.
 */
export class Slots {
  private held = 0;
  private readonly waiting: { grant: () => void; refuse: (error: unknown) => void }[] = [];

  constructor(
    private limit: number,
    private queueLimit: number,
    private readonly busy: () => Error
  ) {}

  /**
   * New bounds, in place (a reload): a larger limit grants waiting callers at once; a smaller one
   * lets the holders over it finish, granting nobody until they have. Callers already waiting keep
   * their place whatever the new queue bound.
   */
  resize(limit: number, queueLimit: number): void {
    this.limit = limit;
    this.queueLimit = queueLimit;
    while (this.held < this.limit && this.waiting.length > 0) {
      this.held++;
      this.waiting.shift()!.grant();
    }
  }

  get inUse(): number {
    return this.held;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot if one is free now; false when the caller would have to wait. */
  tryAcquire(): boolean {
    if (this.held >= this.limit) return false;
    this.held++;
    return true;
  }

  /** Resolves when a slot is held; rejects with `busy()` when full, or with the signal's reason. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queueLimit) return Promise.reject(this.busy());
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: reject
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Gives the slot to the next in line, or frees it (over a lowered limit, always frees it). */
  release(): void {
    if (this.held > this.limit) {
      this.held--;
      return;
    }
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.held--;
  }
}
