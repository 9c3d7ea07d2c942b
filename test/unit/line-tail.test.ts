import { describe, expect, it } from 'vitest';
import { LineTail } from '../../src/connectors/line-tail.js';

describe('LineTail', () => {
  it('keeps the last lines, oldest first, and cuts a long line', () => {
    const tail = new LineTail(3);
    for (const line of ['one', 'two', 'three', 'four']) tail.push(line);
    expect(tail.read()).toEqual(['two', 'three', 'four']);
    tail.push('x'.repeat(5000));
    expect(tail.read().at(-1)).toBe(`${'x'.repeat(1000)}…`);
    expect(tail.read()).toHaveLength(3);
  });

  it('reads the lines pushed since a mark, as many as are still kept', () => {
    const tail = new LineTail(3);
    tail.push('before');
    const since = tail.since();
    expect(since()).toEqual([]);
    tail.push('a');
    tail.push('b');
    expect(since()).toEqual(['a', 'b']);
    for (const line of ['c', 'd', 'e']) tail.push(line);
    expect(since()).toEqual(['c', 'd', 'e']);
  });

  it('answers a copy', () => {
    const tail = new LineTail(2);
    tail.push('a');
    tail.read().push('b');
    expect(tail.read()).toEqual(['a']);
  });
});
