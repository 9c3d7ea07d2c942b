import { describe, expect, it } from 'vitest';
import { parseJsonc } from '../../src/import/jsonc.js';

describe('parseJsonc', () => {
  it('drops comments and trailing commas, but not inside strings', () => {
    const text = `{
      // a comment
      "url": "http://x/*not a comment*/", /* block
      comment */ "list": [1, 2,],
      "s": "a // b, ]",
    }`;
    expect(parseJsonc(text)).toEqual({ url: 'http://x/*not a comment*/', list: [1, 2], s: 'a // b, ]' });
  });

  it('reads escaped quotes in strings', () => {
    expect(parseJsonc('{"a": "say \\"hi\\" // there",}')).toEqual({ a: 'say "hi" // there' });
  });

  it('still rejects what is not JSON', () => {
    expect(() => parseJsonc('{"a": }')).toThrow(SyntaxError);
  });
});
