import { describe, expect, it } from 'vitest';
import { globToRegExp, toolFilter } from '../../src/catalog/glob.js';

const matches = (glob: string, text: string) => globToRegExp(glob).test(text);

describe('globToRegExp', () => {
  it('matches a plain glob exactly, anchored at both ends', () => {
    expect(matches('get_time', 'get_time')).toBe(true);
    expect(matches('get_time', 'get_time_now')).toBe(false);
    expect(matches('get_time', 'xget_time')).toBe(false);
    expect(matches('get_time', 'GET_TIME')).toBe(false);
  });

  it('lets * match any run of characters, including none', () => {
    expect(matches('get_*', 'get_')).toBe(true);
    expect(matches('get_*', 'get_time')).toBe(true);
    expect(matches('*_time', 'get_time')).toBe(true);
    expect(matches('a*b*c', 'abc')).toBe(true);
    expect(matches('a*b*c', 'a-x-b-y-c')).toBe(true);
    expect(matches('a*b*c', 'a-x-c')).toBe(false);
    expect(matches('*', '')).toBe(true);
    expect(matches('*', 'anything at all')).toBe(true);
    expect(matches('get_*', 'set_time')).toBe(false);
  });

  it('lets * match across line breaks', () => {
    expect(matches('a*b', 'a\nb')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    expect(matches('v?', 'v1')).toBe(true);
    expect(matches('v?', 'v')).toBe(false);
    expect(matches('v?', 'v12')).toBe(false);
    expect(matches('??', 'ab')).toBe(true);
    expect(matches('?', '\n')).toBe(true);
  });

  it('matches only the empty string with the empty glob', () => {
    expect(matches('', '')).toBe(true);
    expect(matches('', 'a')).toBe(false);
  });

  it.each([
    ['.', 'a.b', 'axb'],
    ['+', 'a+', 'aa'],
    ['^', 'a^b', 'b'],
    ['$', 'a$b', 'a'],
    ['{}', 'a{2}', 'aa'],
    ['()', '(a)', 'a'],
    ['|', 'a|b', 'a'],
    ['[]', '[ab]', 'a'],
    ['\\', 'a\\d', 'a1'],
    ['a range', '[a-z]', 'b']
  ])('treats %s as a literal', (_label, glob, lookalike) => {
    expect(matches(glob, glob)).toBe(true);
    expect(matches(glob, lookalike)).toBe(false);
  });

  it('keeps metacharacters literal next to wildcards', () => {
    expect(matches('*.read', 'fs.read')).toBe(true);
    expect(matches('*.read', 'fsxread')).toBe(false);
    expect(matches('a.?', 'a.b')).toBe(true);
    expect(matches('a.?', 'aab')).toBe(false);
    expect(matches('[*]', '[anything]')).toBe(true);
    expect(matches('[*]', 'a')).toBe(false);
  });

  it('compiles globs that would be invalid regular expressions', () => {
    for (const glob of ['(', ')', '[', ']', '{', '\\', 'a{', '*(', '?)']) {
      expect(() => globToRegExp(glob)).not.toThrow();
      expect(matches(glob, glob)).toBe(true);
    }
  });
});

describe('toolFilter', () => {
  const tools = ['get_time', 'set_time', 'delete_all', 'read.file', 'list'];
  const kept = (filter: Parameters<typeof toolFilter>[0]) => tools.filter(toolFilter(filter));

  it('allows everything without allow or deny', () => {
    expect(kept({})).toEqual(tools);
  });

  it('allows only what matches an allow glob when allow is given', () => {
    expect(kept({ allow: ['*_time'] })).toEqual(['get_time', 'set_time']);
    expect(kept({ allow: ['list', 'read.*'] })).toEqual(['read.file', 'list']);
  });

  it('allows nothing with an empty allow list', () => {
    expect(kept({ allow: [] })).toEqual([]);
  });

  it('removes whatever matches a deny glob', () => {
    expect(kept({ deny: ['delete_*'] })).toEqual(['get_time', 'set_time', 'read.file', 'list']);
    expect(kept({ deny: [] })).toEqual(tools);
  });

  it('lets deny win over allow', () => {
    expect(kept({ allow: ['*'], deny: ['set_*', 'list'] })).toEqual(['get_time', 'delete_all', 'read.file']);
    expect(kept({ allow: ['get_time'], deny: ['get_time'] })).toEqual([]);
  });

  it('treats metacharacters in filters literally', () => {
    expect(kept({ allow: ['read.file'] })).toEqual(['read.file']);
    expect(kept({ allow: ['read?file'] })).toEqual(['read.file']);
    expect(toolFilter({ allow: ['read.file'] })('readXfile')).toBe(false);
    expect(toolFilter({ deny: ['read.file'] })('readXfile')).toBe(true);
  });
});
