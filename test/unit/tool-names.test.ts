import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeToolName,
  isValidToolName,
  joinName,
  MAX_TOOL_NAME_LENGTH,
  splitToolName,
  type ToolOrigin
} from '../../src/catalog/tool-names.js';

/** A rewritten name: the sanitized original, cut short, then `_` and an 8-hex-digit hash. */
const REWRITTEN = /^[A-Za-z0-9_-]*_[0-9a-f]{8}$/;

/** Namespaces as the config schema allows them (non-empty). */
const namespaceArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/);

/** Tool names: mostly-valid ones, short unicode ones and long unicode ones. */
const toolArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 10 })
);

describe('isValidToolName', () => {
  it('accepts 1-64 characters of [A-Za-z0-9_-]', () => {
    expect(isValidToolName('a')).toBe(true);
    expect(isValidToolName('time__get_time')).toBe(true);
    expect(isValidToolName('A-z_09')).toBe(true);
    expect(isValidToolName('x'.repeat(64))).toBe(true);
  });

  it('rejects the empty name, names over 64 characters and other characters', () => {
    expect(isValidToolName('')).toBe(false);
    expect(isValidToolName('x'.repeat(65))).toBe(false);
    expect(isValidToolName('a.b')).toBe(false);
    expect(isValidToolName('a b')).toBe(false);
    expect(isValidToolName('é')).toBe(false);
    expect(isValidToolName('a\n')).toBe(false);
  });
});

describe('joinName', () => {
  it('joins namespace and tool with __, or gives the bare tool for namespace ""', () => {
    expect(joinName({ namespace: 'time', tool: 'get_time' })).toBe('time__get_time');
    expect(joinName({ namespace: '', tool: 'get_time' })).toBe('get_time');
  });
});

describe('encodeToolName', () => {
  it('passes an already valid joined name through exactly', () => {
    expect(encodeToolName({ namespace: 'time', tool: 'get_time' })).toBe('time__get_time');
    expect(encodeToolName({ namespace: 'my-server', tool: 'do-it' })).toBe('my-server__do-it');
  });

  it('gives the bare tool name for namespace ""', () => {
    expect(encodeToolName({ namespace: '', tool: 'get_time' })).toBe('get_time');
  });

  it('keeps __ inside the tool name', () => {
    expect(encodeToolName({ namespace: 'ns', tool: 'a__b' })).toBe('ns__a__b');
  });

  it('rewrites characters outside [A-Za-z0-9_-] to _ and appends a hash', () => {
    const name = encodeToolName({ namespace: 'ns', tool: 'read.file' });
    expect(name).toMatch(/^ns__read_file_[0-9a-f]{8}$/);
    expect(isValidToolName(name)).toBe(true);

    const spaced = encodeToolName({ namespace: '', tool: 'get time/now' });
    expect(spaced).toMatch(/^get_time_now_[0-9a-f]{8}$/);
  });

  it('gives an empty joined name a valid hashed name', () => {
    const name = encodeToolName({ namespace: '', tool: '' });
    expect(name).toMatch(/^_[0-9a-f]{8}$/);
    expect(isValidToolName(name)).toBe(true);
  });

  describe('the 64-character limit', () => {
    const withLength = (length: number): ToolOrigin => ({ namespace: 'ns', tool: 'x'.repeat(length - 4) });

    it.each([63, 64])('keeps a valid %i-character name as is', length => {
      const origin = withLength(length);
      expect(joinName(origin)).toHaveLength(length);
      expect(encodeToolName(origin)).toBe(joinName(origin));
    });

    it.each([65, 100, 1000, 100_000])(
      'rewrites a %i-character name to at most 64 valid characters',
      length => {
        const origin = withLength(length);
        const name = encodeToolName(origin);
        expect(name.length).toBeLessThanOrEqual(MAX_TOOL_NAME_LENGTH);
        expect(isValidToolName(name)).toBe(true);
        expect(name).toMatch(REWRITTEN);
        expect(name.startsWith('ns__xxx')).toBe(true);
      }
    );

    it('gives long names that share their first 64 characters different names', () => {
      const a = encodeToolName({ namespace: 'ns', tool: `${'x'.repeat(80)}a` });
      const b = encodeToolName({ namespace: 'ns', tool: `${'x'.repeat(80)}b` });
      expect(a).not.toBe(b);
      expect(isValidToolName(a) && isValidToolName(b)).toBe(true);
    });

    it('keeps a 64-character name within the limit when it also has bad characters', () => {
      const name = encodeToolName({ namespace: 'ns', tool: `${'x'.repeat(59)}.` });
      expect(name.length).toBeLessThanOrEqual(MAX_TOOL_NAME_LENGTH);
      expect(isValidToolName(name)).toBe(true);
    });
  });

  describe('unicode names', () => {
    it.each([
      ['emoji', '😀'],
      ['emoji sequence', '\u{1F469}\u200D\u{1F467} family'],
      ['CJK', '名前を取得'],
      ['combining characters', 'e\u0301te\u0301'],
      ['right-to-left text', 'שלום'],
      ['a lone surrogate', 'a\uD800b'],
      ['control characters', 'a\u0000b\tc\n'],
      ['long CJK', '漢'.repeat(100)]
    ])('maps %s to a valid name', (_label, tool) => {
      const name = encodeToolName({ namespace: 'ns', tool });
      expect(isValidToolName(name)).toBe(true);
      expect(name).toMatch(REWRITTEN);
    });

    it('keeps precomposed and decomposed forms of the same text apart', () => {
      const precomposed = encodeToolName({ namespace: 'ns', tool: '\u00e9' });
      const decomposed = encodeToolName({ namespace: 'ns', tool: 'e\u0301' });
      expect(precomposed).not.toBe(decomposed);
    });
  });

  it('is deterministic', () => {
    const origins: ToolOrigin[] = [
      { namespace: 'time', tool: 'get_time' },
      { namespace: 'ns', tool: 'a.b' },
      { namespace: '', tool: '名前' },
      { namespace: 'ns', tool: 'y'.repeat(200) }
    ];
    for (const origin of origins) {
      const first = encodeToolName(origin);
      expect(encodeToolName({ ...origin })).toBe(first);
      expect(encodeToolName(origin)).toBe(first);
      expect(encodeToolName(origin, 'salt')).toBe(encodeToolName({ ...origin }, 'salt'));
    }
  });

  it('gives distinct names to inputs that sanitize to the same string', () => {
    const variants = ['a.b', 'a:b', 'a b', 'a/b', 'a@b', 'a\u00e9b'];
    const names = variants.map(tool => encodeToolName({ namespace: 'ns', tool }));
    for (const name of names) expect(name.startsWith('ns__a_b_')).toBe(true);
    expect(new Set(names).size).toBe(variants.length);
  });

  it('keeps a rewritten name apart from the valid name it sanitizes to', () => {
    expect(encodeToolName({ namespace: 'ns', tool: 'a.b' })).not.toBe(
      encodeToolName({ namespace: 'ns', tool: 'a_b' })
    );
  });

  describe('the salt argument', () => {
    const origin: ToolOrigin = { namespace: 'ns', tool: 'get_time' };

    it('rewrites even a valid name, deterministically', () => {
      const salted = encodeToolName(origin, 'server-a');
      expect(salted).not.toBe('ns__get_time');
      expect(salted).toMatch(/^ns__get_time_[0-9a-f]{8}$/);
      expect(encodeToolName(origin, 'server-a')).toBe(salted);
    });

    it('gives different names for different salts', () => {
      const names = ['a', 'b', 'a\u0000', 'a\u0000\u0000', ''].map(salt => encodeToolName(origin, salt));
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(isValidToolName(name)).toBe(true);
    });

    it('changes the name of an already rewritten tool too', () => {
      const plain = encodeToolName({ namespace: 'ns', tool: 'a.b' });
      const salted = encodeToolName({ namespace: 'ns', tool: 'a.b' }, 'other');
      expect(salted).not.toBe(plain);
      expect(salted.startsWith('ns__a_b_')).toBe(true);
    });
  });
});

describe('splitToolName', () => {
  it('splits an exposed name into namespace and tool', () => {
    expect(splitToolName('time__get_time')).toEqual({ namespace: 'time', tool: 'get_time' });
  });

  it('splits at the first __ so __ inside the tool name survives', () => {
    expect(splitToolName('ns__a__b')).toEqual({ namespace: 'ns', tool: 'a__b' });
    expect(splitToolName('ns___x')).toEqual({ namespace: 'ns', tool: '_x' });
    expect(splitToolName('ns____')).toEqual({ namespace: 'ns', tool: '__' });
  });

  it('gives undefined for a name with no separator or a leading one', () => {
    expect(splitToolName('get_time')).toBeUndefined();
    expect(splitToolName('')).toBeUndefined();
    expect(splitToolName('__x')).toBeUndefined();
  });

  it('gives an empty tool for a name ending in the separator', () => {
    expect(splitToolName('ns__')).toEqual({ namespace: 'ns', tool: '' });
  });

  it('round-trips exact names', () => {
    for (const origin of [
      { namespace: 'time', tool: 'get_time' },
      { namespace: 'ns', tool: 'a__b' },
      { namespace: 'A-1', tool: '-x-' }
    ]) {
      expect(splitToolName(encodeToolName(origin))).toEqual(origin);
    }
  });
});

describe('properties', () => {
  it('encodeToolName always returns a valid name', () => {
    fc.assert(
      fc.property(namespaceArb, toolArb, (namespace, tool) => {
        const name = encodeToolName({ namespace, tool });
        expect(isValidToolName(name)).toBe(true);
      }),
      { numRuns: 1000 }
    );
  });

  it('encodeToolName always returns a valid name for namespace "" and any salt', () => {
    fc.assert(
      fc.property(toolArb, fc.option(fc.string({ unit: 'binary' }), { nil: undefined }), (tool, salt) => {
        expect(isValidToolName(encodeToolName({ namespace: '', tool }, salt))).toBe(true);
      }),
      { numRuns: 500 }
    );
  });

  it('an already valid joined name is kept and round-trips through splitToolName', () => {
    fc.assert(
      fc.property(namespaceArb, toolArb, (namespace, tool) => {
        const origin = { namespace, tool };
        const name = encodeToolName(origin);
        if (isValidToolName(joinName(origin))) {
          expect(name).toBe(joinName(origin));
          expect(splitToolName(name)).toEqual(origin);
        } else {
          expect(name).not.toBe(joinName(origin));
          expect(name).toMatch(REWRITTEN);
        }
      }),
      { numRuns: 1000 }
    );
  });

  it('is a pure function of its input', () => {
    fc.assert(
      fc.property(namespaceArb, toolArb, (namespace, tool) => {
        expect(encodeToolName({ namespace, tool })).toBe(encodeToolName({ namespace, tool }));
      })
    );
  });

  // Not a strict invariant: a valid tool could spell another tool's rewritten name, hash included.
  // buildToolIndex resolves that; random inputs never hit it.
  it('distinct origins get distinct names', () => {
    fc.assert(
      fc.property(namespaceArb, toolArb, toolArb, (namespace, a, b) => {
        fc.pre(a !== b);
        expect(encodeToolName({ namespace, tool: a })).not.toBe(encodeToolName({ namespace, tool: b }));
      }),
      { numRuns: 1000 }
    );
  });
});
