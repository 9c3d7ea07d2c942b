import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/upstream/slots.js';

const busy = () => new Error('busy');

describe('Slots resized in place (a reload)', () => {
  it('grants waiting callers at once when the limit grows', async () => {
    const slots = new Slots(1, 5, busy);
    await slots.acquire();
    const granted: number[] = [];
    const waiting = [1, 2].map(n => slots.acquire().then(() => granted.push(n)));
    await Promise.resolve();
    expect(granted).toEqual([]);
    slots.resize(3, 5);
    await Promise.all(waiting);
    expect(granted).toEqual([1, 2]);
    expect(slots.inUse).toBe(3);
    expect(slots.queued).toBe(0);
  });

  it('lets the holders over a lowered limit finish before anyone waiting is granted', async () => {
    const slots = new Slots(3, 5, busy);
    for (let i = 0; i < 3; i++) await slots.acquire();
    slots.resize(1, 1);
    let granted = false;
    const waiting = slots.acquire().then(() => (granted = true));
    await expect(slots.acquire()).rejects.toThrow('busy'); // the queue bound is new too
    slots.release();
    slots.release();
    await Promise.resolve();
    expect(granted).toBe(false);
    expect(slots.inUse).toBe(1);
    slots.release();
    await waiting;
    expect(slots.inUse).toBe(1);
  });
});
