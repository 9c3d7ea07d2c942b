import { describe, expect, it } from 'vitest';
import { nextCursorOf, wholeList } from '../../bench/lib/whole-list.mjs';

const page = (tools: number, nextCursor?: string) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    result: {
      tools: Array.from({ length: tools }, (_, i) => ({
        name: `t${i}`,
        description: '"nextCursor":"decoy"'
      })),
      ...(nextCursor === undefined ? {} : { nextCursor }),
      resultType: 'complete'
    }
  });

/** A client serving `pages` (cursor → text), recording the cursors it was asked for. */
function clientOf(pages: Map<string | undefined, string>) {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    requestText: (_method: string, params: { cursor?: string }) => {
      asked.push(params.cursor);
      const text = pages.get(params.cursor);
      return text === undefined
        ? Promise.reject(new Error(`no page at ${params.cursor}`))
        : Promise.resolve(text);
    }
  };
}

describe('the bench whole-list client', () => {
  it('reads the cursor from the tail of the answer, escapes and all', () => {
    expect(nextCursorOf(page(20, 'MTAwMA=='))).toBe('MTAwMA==');
    expect(nextCursorOf(page(20, 'a"b'))).toBe('a"b');
    expect(nextCursorOf(page(20))).toBeUndefined();
  });

  it('follows cursors to the last page', async () => {
    const client = clientOf(
      new Map([
        [undefined, page(20, 'p2')],
        ['p2', page(20, 'p3')],
        ['p3', page(20)]
      ])
    );
    await wholeList(client)();
    expect(client.asked).toEqual([undefined, 'p2', 'p3']);
  });

  it('refuses a pass that brings fewer pages than the first', async () => {
    const pages = new Map([
      [undefined, page(20, 'p2')],
      ['p2', page(20)]
    ]);
    const list = wholeList(clientOf(pages));
    await list();
    pages.set(undefined, page(20));
    await expect(list()).rejects.toThrow(/a partial list/);
  });
});
