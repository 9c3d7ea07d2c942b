// The two ways the bench drives calls: one after another, or many clients at once for a while.
import { summarize } from './stats.mjs';

/** Runs `call(i)` `count` times, one after another; latencies and calls/s. Throws on any error. */
export async function sequential(count, call) {
  const latencies = new Float64Array(count);
  const began = performance.now();
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call(i);
    latencies[i] = performance.now() - start;
  }
  return summarize(latencies, performance.now() - began);
}

/**
 * Every client in `clients` calls in a loop (`call(client, i)`) until `durationMs` has passed. Errors
 * are counted, not thrown: the count is one of the results.
 */
export async function concurrent(clients, durationMs, call) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const began = performance.now();
  const deadline = began + durationMs;
  await Promise.all(
    clients.map(async client => {
      for (let i = 0; performance.now() < deadline; i++) {
        const start = performance.now();
        try {
          await call(client, i);
          latencies.push(performance.now() - start);
        } catch (error) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    })
  );
  const elapsed = performance.now() - began;
  return { ...summarize(latencies, elapsed), errors, ...(firstError ? { firstError } : {}) };
}

/** Runs `total` calls spread over `clients`, each calling in a loop; counts errors. */
export async function fixedCount(clients, total, call) {
  let next = 0;
  let errors = 0;
  let firstError;
  const began = performance.now();
  await Promise.all(
    clients.map(async client => {
      for (let i = next++; i < total; i = next++) {
        try {
          await call(client, i);
        } catch (error) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    })
  );
  return {
    calls: total,
    errors,
    seconds: (performance.now() - began) / 1000,
    ...(firstError ? { firstError } : {})
  };
}
