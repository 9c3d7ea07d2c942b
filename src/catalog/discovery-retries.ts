/** The first wait before a failed discovery is tried again. */
export const FIRST_RETRY_MS = 5_000;
/** The longest wait between two attempts: a server down for hours is tried every 5 minutes. */
export const MAX_RETRY_MS = 5 * 60_000;

/** A server whose discovery failed: its failures so far, and the attempt scheduled (none while one runs). */
interface Pending {
  readonly attempts: number;
  timer: NodeJS.Timeout | undefined;
  dueAt: number | undefined;
}

/**
 * When to discover again the servers whose discovery failed (a remote server down at boot, a
 * network not up yet, an engine that is starting): one timer per server, each wait twice the one
 * before (from {@link FIRST_RETRY_MS} up to {@link MAX_RETRY_MS}). A success, the server's removal
 * or {@link close} forgets it. The timers do not keep the process alive. Each attempt is one
 * discovery of one server, so a retry never starts a server twice at once: the upstream shares a
 * start under way.
 */
export class DiscoveryRetries {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly firstMs = FIRST_RETRY_MS,
    private readonly maxMs = MAX_RETRY_MS
  ) {}

  /**
   * Schedules `retry` for `serverId`, whose discovery just failed, replacing an attempt already
   * scheduled; resolves nothing. Returns the wait in ms (undefined once closed: nothing is scheduled).
   */
  failed(serverId: string, retry: () => void): number | undefined {
    if (this.closed) return undefined;
    const before = this.pending.get(serverId);
    if (before) clearTimeout(before.timer);
    const attempts = (before?.attempts ?? 0) + 1;
    const waitMs = Math.min(this.maxMs, this.firstMs * 2 ** (attempts - 1));
    const entry: Pending = { attempts, dueAt: Date.now() + waitMs, timer: undefined };
    entry.timer = setTimeout(() => {
      // Running now: nothing is due until it fails again (its failures count on) or is forgotten.
      entry.dueAt = undefined;
      retry();
    }, waitMs);
    entry.timer.unref();
    this.pending.set(serverId, entry);
    return waitMs;
  }

  /**
   * When the next attempt for `serverId` is due (ms since the epoch), if one is scheduled: not
   * while an attempt runs.
   */
  dueAt(serverId: string): number | undefined {
    return this.pending.get(serverId)?.dueAt;
  }

  /** Forgets `serverId`: discovered, listed by a call, or removed from the config. */
  forget(serverId: string): void {
    const pending = this.pending.get(serverId);
    if (pending) clearTimeout(pending.timer);
    this.pending.delete(serverId);
  }

  /** Cancels every attempt; none is scheduled after (shutdown). */
  close(): void {
    this.closed = true;
    for (const serverId of [...this.pending.keys()]) this.forget(serverId);
  }
}
