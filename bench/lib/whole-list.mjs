// Listing a whole catalog page by page without parsing the answers: the tools/list curve's client.

/**
 * The `nextCursor` of a tools/list answer, read from its text without parsing the whole answer (it
 * sits in the last few hundred characters, after the tools); undefined on the last page.
 */
export function nextCursorOf(text) {
  const tail = text.slice(-400);
  const match = /"nextCursor":("(?:[^"\\]|\\.)*")/.exec(tail);
  return match ? JSON.parse(match[1]) : undefined;
}

/**
 * Lists every page through `client.requestText` (received, not parsed: the server's part of the
 * time); checks each pass brings the same number of pages and, give or take the ids, the same bytes.
 */
export function wholeList(client) {
  let expected;
  return async () => {
    let cursor;
    let pages = 0;
    let bytes = 0;
    do {
      const text = await client.requestText('tools/list', cursor === undefined ? {} : { cursor });
      pages += 1;
      bytes += text.length;
      cursor = nextCursorOf(text);
    } while (cursor !== undefined && pages < 100);
    expected ??= { pages, bytes };
    if (pages !== expected.pages || Math.abs(bytes - expected.bytes) > 16 * pages) {
      throw new Error(
        `a partial list: ${pages} pages, ${bytes} bytes (first pass ${JSON.stringify(expected)})`
      );
    }
  };
}
