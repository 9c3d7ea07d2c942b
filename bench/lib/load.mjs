// The ways the bench drives calls: one after another, several paths in interleaved rounds, or many
// clients at once.
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

/** Rounds in which every path of {@link interleaved} takes its turn. */
export const ROUNDS = 5;

/**
 * Sequential calls on several paths to be compared with each other (`paths`: name → `{ call, meter }`):
 * `warmup` calls on each (JIT, sockets, the servers' own warm-up), then `count` on each in
 * {@link ROUNDS} rounds in which every path takes its turn, so that drift in the machine falls on all
 * of them alike. `call(i)` makes one call; the optional `meter()` is called as each turn begins and
 * returns what to call, with the turn's call count, as it ends (for CPU readings). Returns the
 * latency summary of each path by name. Throws on any error.
 */
export async function interleaved(paths, { warmup, count, log }) {
  const entries = Object.entries(paths);
  const latencies = new Map(entries.map(([name]) => [name, []]));
  const elapsed = new Map(entries.map(([name]) => [name, 0]));
  for (const [, path] of entries) for (let i = 0; i < warmup; i++) await path.call(i);
  const turn = Math.ceil(count / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    log?.(`  round ${round + 1} of ${ROUNDS}: ${turn} calls on each of ${entries.length} paths`);
    for (const [name, path] of entries) {
      const metered = path.meter?.();
      const began = performance.now();
      for (let i = 0; i < turn; i++) {
        const start = performance.now();
        await path.call(i);
        latencies.get(name).push(performance.now() - start);
      }
      elapsed.set(name, elapsed.get(name) + performance.now() - began);
      metered?.(turn);
    }
  }
  return Object.fromEntries(
    entries.map(([name]) => [name, summarize(latencies.get(name), elapsed.get(name))])
  );
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
