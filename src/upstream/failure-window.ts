/** Failed starts and crashes within this window... */
const FAILURE_WINDOW_MS = 60_000;
/** ...this many times... */
const FAILURE_LIMIT = 3;
/** ...mark the server failed for this long. */
export const FAILED_COOLDOWN_MS = 30_000;

/** A failed start or a crash, as counted toward marking a server failed. */
interface Failure {
  readonly at: number;
  readonly kind: 'start' | 'crash';
}

/**
 * Counts a server's failed starts and crashes together: {@link FAILURE_LIMIT} within a minute mark
 * it failed. A start that works forgets the failed starts but not the crashes, so a server that
 * crashes soon after every start is still marked failed.
 */
export class FailureWindow {
  private failures: Failure[] = [];

  /**
   * Counts one failure. Returns what marks the server failed (`crashed 3 times in a minute`) when
   * this one reaches the limit, and starts counting afresh; undefined below it.
   */
  record(kind: Failure['kind'], now = Date.now()): string | undefined {
    this.failures = [
      ...this.failures.filter(failure => now - failure.at < FAILURE_WINDOW_MS),
      { at: now, kind }
    ];
    if (this.failures.length < FAILURE_LIMIT) return undefined;
    const because = describeFailures(this.failures);
    this.failures = [];
    return because;
  }

  /** A start worked: its failed predecessors no longer count. */
  started(): void {
    this.failures = this.failures.filter(failure => failure.kind === 'crash');
  }
}

/** `failed to start 3 times`, `crashed 3 times`, or both, for the failures that marked a server failed. */
function describeFailures(failures: readonly Failure[]): string {
  const times = (n: number) => (n === 1 ? '1 time' : `${n} times`);
  const starts = failures.filter(failure => failure.kind === 'start').length;
  const crashes = failures.length - starts;
  if (crashes === 0) return `failed to start ${times(starts)} in a minute`;
  if (starts === 0) return `crashed ${times(crashes)} in a minute`;
  return `failed to start ${times(starts)} and crashed ${times(crashes)} in a minute`;
}
