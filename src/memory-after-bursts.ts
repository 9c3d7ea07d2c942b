/**
 * Gives memory back once the gateway goes quiet after a burst of requests. Under load V8 grows the
 * young generation and fills old-space pages, and the C allocator keeps what parsers and sockets
 * freed; an idle process never collects in a way that returns them (measured: RSS flat for 30 s after
 * 10,000 hostile requests, 40 to 70 MB above what one memory-reducing collection leaves). So when no
 * request has arrived for a quiet spell and RSS has grown by more than a margin since memory was last
 * given back, one memory-reducing collection runs (reduce-memory.ts).
 *
 * The collection stops the main thread for its whole length, which grows with the heap (measured on
 * Node.js 24 here: 14 ms at 7 MB, 29 ms at 18 MB, 97 ms at 46 MB, 185 ms at 88 MB). So it runs only
 * when quiet: no request has arrived for a quiet spell and nothing is `busy` (no call in flight, no
 * server starting), so that no answer waits behind it; and only after growth, so that a steady trickle
 * of requests costs one timer per quiet spell, and a gateway whose memory is in use (sessions held
 * open) finds nothing to give back and does not collect again until it grows further.
 */
export interface MemoryAfterBurstsOptions {
  /** How long without a request counts as quiet (ms). */
  readonly quietMs: number;
  /** RSS growth since memory was last given back that makes a quiet spell worth a collection (bytes). */
  readonly growthBytes: number;
  /** The memory-reducing collection. */
  readonly reduce: () => Promise<void>;
  /** The process's resident set size now (bytes); may throw (EMFILE), which skips that spell. */
  readonly rss: () => number;
  /** Whether work is under way that a pause would delay (calls in flight): the spell is not quiet. */
  readonly busy?: (() => boolean) | undefined;
  /** Told after each collection, with RSS before and after (for the log). */
  readonly onReduced?: ((before: number, after: number) => void) | undefined;
  /** Told when a collection or an RSS reading fails (not tried again until the next burst). */
  readonly onFailed?: ((error: unknown) => void) | undefined;
}

export class MemoryAfterBursts {
  /** RSS when memory was last given back (or the lowest seen since): growth is measured from it. */
  #baseline: number;
  /** When the last request arrived (performance.now()). */
  #lastRequest = 0;
  #timer: NodeJS.Timeout | undefined;
  #reducing = false;
  #closed = false;

  constructor(private readonly options: MemoryAfterBurstsOptions) {
    this.#baseline = this.#rss() ?? 0;
  }

  /** Sets the baseline to RSS now: called once start-up has given back what loading took. */
  settle(): void {
    this.#baseline = this.#rss() ?? this.#baseline;
  }

  /** Called for every request: cheap (a clock reading, and a timer armed once per burst). */
  touch(): void {
    if (this.#closed) return;
    this.#lastRequest = performance.now();
    this.#timer ??= setTimeout(this.#check, this.options.quietMs).unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #check = (): void => {
    if (this.#closed) return;
    const quietFor = performance.now() - this.#lastRequest;
    if (quietFor < this.options.quietMs || this.options.busy?.()) {
      // A request came since (look again once the spell since it has passed), or work is under way.
      const wait = quietFor < this.options.quietMs ? this.options.quietMs - quietFor : this.options.quietMs;
      this.#timer = setTimeout(this.#check, wait).unref();
      return;
    }
    this.#timer = undefined;
    const before = this.#rss();
    if (before === undefined) return;
    if (before < this.#baseline) this.#baseline = before;
    if (this.#reducing || before - this.#baseline < this.options.growthBytes) return;
    this.#reducing = true;
    this.options.reduce().then(
      () => {
        this.#reducing = false;
        const after = this.#rss();
        this.#baseline = after ?? before;
        if (after !== undefined) this.options.onReduced?.(before, after);
      },
      (error: unknown) => {
        this.#reducing = false;
        this.#baseline = before;
        this.options.onFailed?.(error);
      }
    );
  };

  /**
   * RSS now, or undefined (told to `onFailed`) when it cannot be read: this runs on a timer, where a
   * throw would end the process.
   */
  #rss(): number | undefined {
    try {
      return this.options.rss();
    } catch (error) {
      this.options.onFailed?.(error);
      return undefined;
    }
  }
}
