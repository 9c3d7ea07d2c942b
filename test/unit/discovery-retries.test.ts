import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiscoveryRetries, FIRST_RETRY_MS, MAX_RETRY_MS } from '../../src/catalog/discovery-retries.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('DiscoveryRetries', () => {
  it('waits twice as long after each failure, up to the longest wait, and runs each retry once', () => {
    vi.useFakeTimers();
    const retries = new DiscoveryRetries();
    const runs: number[] = [];
    const waits: (number | undefined)[] = [];
    for (let failure = 0; failure < 9; failure++) {
      waits.push(retries.failed('alpha', () => runs.push(failure)));
    }
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(FIRST_RETRY_MS).toBe(5_000);
    expect(MAX_RETRY_MS).toBe(300_000);
    // Each failure replaced the attempt scheduled before it: only the last one runs.
    vi.advanceTimersByTime(MAX_RETRY_MS);
    expect(runs).toEqual([8]);
  });

  it('has nothing due while an attempt runs, and counts on from its failures', () => {
    vi.useFakeTimers();
    const retries = new DiscoveryRetries(100, 10_000);
    let ran = 0;
    retries.failed('alpha', () => ran++);
    vi.advanceTimersByTime(100);
    expect(ran).toBe(1);
    expect(retries.dueAt('alpha')).toBeUndefined(); // the attempt runs: nothing else is due
    expect(retries.failed('alpha', () => ran++)).toBe(200); // it failed: the next wait doubles
    expect(retries.dueAt('alpha')).toBe(Date.now() + 200);
  });

  it('forgets a server (listed, or removed), and schedules nothing once closed', () => {
    vi.useFakeTimers();
    const retries = new DiscoveryRetries(100, 1_000);
    let ran = 0;
    retries.failed('alpha', () => ran++);
    retries.failed('beta', () => ran++);
    expect(retries.dueAt('alpha')).toBe(Date.now() + 100);
    retries.forget('alpha');
    expect(retries.dueAt('alpha')).toBeUndefined();
    // A failure after a forget starts again from the first wait.
    expect(retries.failed('alpha', () => ran++)).toBe(100);
    retries.close();
    expect(retries.failed('gamma', () => ran++)).toBeUndefined();
    vi.advanceTimersByTime(10_000);
    expect(ran).toBe(0);
  });
});
