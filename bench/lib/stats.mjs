// Latency summaries. Every figure in the report comes from one of these.

/** The `q` quantile (0..1) of sorted `values`, by the nearest-rank method. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * p50/p90/p99/max of `latencies` (ms), and calls/s over `elapsedMs` (the wall time of the whole run,
 * so for sequential calls it includes the client's own time between calls).
 */
export function summarize(latencies, elapsedMs) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: sorted.length,
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    callsPerSec: Math.round((sorted.length / elapsedMs) * 1000)
  };
}

/** The median of a few samples (cold starts). */
export function median(values) {
  return quantile(Float64Array.from(values).sort(), 0.5);
}

/** Rounds to 3 decimals (microseconds when the unit is ms). */
export function round(value, digits = 3) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
