import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryAfterBursts } from '../../src/memory-after-bursts.js';

const MB = 1024 * 1024;

/** A reducer over a fake RSS: `reduce` brings it back to `floor`, as a memory-reducing collection would. */
function harness(
  options: { growthBytes?: number; floor?: number; failing?: boolean; busy?: () => boolean } = {}
) {
  const state = {
    rss: options.floor ?? 100 * MB,
    reductions: 0,
    reduced: [] as [number, number][],
    failures: [] as unknown[],
    failRss: false
  };
  const floor = options.floor ?? 100 * MB;
  const reducer = new MemoryAfterBursts({
    quietMs: 1_000,
    growthBytes: options.growthBytes ?? 16 * MB,
    rss: () => {
      if (state.failRss) throw new Error('EMFILE: too many open files, uv_resident_set_memory');
      return state.rss;
    },
    busy: options.busy,
    reduce: () => {
      state.reductions++;
      if (options.failing) return Promise.reject(new Error('no inspector'));
      state.rss = floor;
      return Promise.resolve();
    },
    onReduced: (before, after) => state.reduced.push([before, after]),
    onFailed: error => state.failures.push(error)
  });
  return { state, reducer };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryAfterBursts', () => {
  it('gives memory back once the requests stop and RSS has grown past the margin', async () => {
    const { state, reducer } = harness();
    for (let i = 0; i < 50; i++) {
      reducer.touch();
      state.rss += 2 * MB;
      await vi.advanceTimersByTimeAsync(100);
    }
    // Requests every 100 ms: never a quiet second, so nothing yet.
    expect(state.reductions).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.reductions).toBe(1);
    expect(state.reduced).toEqual([[200 * MB, 100 * MB]]);
    // Quiet and nothing new: no second collection.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(state.reductions).toBe(1);
    reducer.close();
  });

  it('waits a whole quiet spell after the last request, not after the first', async () => {
    const { state, reducer } = harness();
    state.rss += 50 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(900);
    reducer.touch();
    await vi.advanceTimersByTimeAsync(900);
    expect(state.reductions).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(state.reductions).toBe(1);
    reducer.close();
  });

  it('does not collect after a burst that left RSS within the margin', async () => {
    const { state, reducer } = harness();
    state.rss += 10 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(state.reductions).toBe(0);
    reducer.close();
  });

  it('measures growth from what was last given back, and from what start-up settled at', async () => {
    const { state, reducer } = harness();
    state.rss = 90 * MB; // start-up's own reduction
    reducer.settle();
    state.rss = 100 * MB; // grew by 10 MB from the settled 90: within the margin
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(0);
    state.rss = 107 * MB; // 17 MB above the settled 90
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(1);
    reducer.close();
  });

  it('memory in use (nothing to give back) is not collected again until it grows further', async () => {
    const { state, reducer } = harness({ floor: 180 * MB });
    reducer.settle();
    state.rss = 200 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(1); // 200 → 180: the new baseline
    state.rss = 190 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(1);
    reducer.close();
  });

  it('a failed collection is reported, not retried at every quiet spell', async () => {
    const { state, reducer } = harness({ failing: true });
    state.rss += 50 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(1);
    expect(state.failures).toEqual([new Error('no inspector')]);
    reducer.close();
  });

  it('waits while work is under way (a call in flight), and collects once it is over', async () => {
    let busy = true;
    const { state, reducer } = harness({ busy: () => busy });
    state.rss += 50 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(state.reductions).toBe(0);
    busy = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.reductions).toBe(1);
    // Waiting costs a timer per spell, not a spin.
    expect(vi.getTimerCount()).toBe(0);
    reducer.close();
  });

  it('an RSS reading that fails (EMFILE) is reported and skips the spell; it never throws from the timer', async () => {
    const { state, reducer } = harness();
    state.rss += 50 * MB;
    reducer.touch();
    state.failRss = true;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(0);
    expect(state.failures).toEqual([new Error('EMFILE: too many open files, uv_resident_set_memory')]);
    state.failRss = false;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(state.reductions).toBe(1);
    reducer.close();
  });

  it('after close, requests arm nothing', async () => {
    const { state, reducer } = harness();
    reducer.close();
    state.rss += 50 * MB;
    reducer.touch();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(state.reductions).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
