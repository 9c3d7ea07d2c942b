/**
 * Gives memory back once the gateway goes quiet after a burst of requests. Under load V8 grows the
 * young generation and fills old-space pages, and the C allocator keeps what parsers and sockets
 * freed; an idle process never collects in a way that returns them (measured: RSS flat for 30 s after
 * 10,000 hostile requests, 40 to 70 MB above what one memory-reducing collection leaves). So when no
 * request has arrived for a quiet spell and RSS has grown by more than a margin since memory was last
 * given back, one memory-reducing collection runs (reduce-memory.ts).
 *
 * The collection pauses the main thread for a few tens of milliseconds, so it runs only when quiet,
 * and only after growth: a steady trickle of requests costs one timer per quiet spell, and a gateway
 * whose memory is in use (sessions held open) finds nothing to give back and does not collect again
 * until it grows further.
 */
export interface MemoryAfterBurstsOptions {
  /** How long without a request counts as quiet (ms). */
  readonly quietMs: number;
  /** RSS growth since memory was last given back that makes a quiet spell worth a collection (bytes). */
  readonly growthBytes: number;
  /** The memory-reducing collection. */
  readonly reduce: () => Promise<void>;
  /** The process's resident set size now (bytes). */
  readonly rss: () => number;
  /** Told after each collection, with RSS before and after (for the log). */
  readonly onReduced?: ((before: number, after: number) => void) | undefined;
  /** Told when a collection fails (it is not tried again until the next burst). */
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
    this.#baseline = options.rss();
  }

  /** Sets the baseline to RSS now: called once start-up has given back what loading took. */
  settle(): void {
    this.#baseline = this.options.rss();
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
    if (quietFor < this.options.quietMs) {
      // A request came since: look again once the spell since it has passed.
      this.#timer = setTimeout(this.#check, this.options.quietMs - quietFor).unref();
      return;
    }
    this.#timer = undefined;
    const before = this.options.rss();
    if (before < this.#baseline) this.#baseline = before;
    if (this.#reducing || before - this.#baseline < this.options.growthBytes) return;
    this.#reducing = true;
    this.options.reduce().then(
      () => {
        this.#reducing = false;
        const after = this.options.rss();
        this.#baseline = after;
        this.options.onReduced?.(before, after);
      },
      (error: unknown) => {
        this.#reducing = false;
        this.#baseline = before;
        this.options.onFailed?.(error);
      }
    );
  };
}
