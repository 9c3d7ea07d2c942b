import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeResourceUri, encodeResourceUri } from '../../src/catalog/resource-uris.js';

/** Namespaces as the config schema allows them, the empty one included. */
const namespaceArb = fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/));

/** URIs and templates: realistic ones, ones full of `+` and `{`, and arbitrary strings. */
const uriArb = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('ui', 'file', 'test', 'urn', 'https', 'a+b.c-d'),
      fc.constantFrom('://', ':', ':///', ':/'),
      fc.stringMatching(/^[A-Za-z0-9+{}/:.\-_%?#=&]{0,30}$/)
    )
    .map(([scheme, sep, rest]) => `${scheme}${sep}${rest}`),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 })
);

describe('resource URI rewrite', () => {
  it('keeps the scheme and puts the namespace first after it', () => {
    expect(encodeResourceUri({ namespace: 'apps', uri: 'ui://dashboard/main' })).toBe(
      'ui://apps+dashboard/main'
    );
    expect(encodeResourceUri({ namespace: 'fs', uri: 'file:///etc/hosts' })).toBe('file://fs+/etc/hosts');
    expect(encodeResourceUri({ namespace: 'books', uri: 'urn:isbn:123' })).toBe('urn:books+isbn:123');
    expect(encodeResourceUri({ namespace: 'e', uri: 'test://static/resource/{id}' })).toBe(
      'test://e+static/resource/{id}'
    );
  });

  it('leaves the empty namespace unchanged unless the URI could read as another namespace', () => {
    expect(encodeResourceUri({ namespace: '', uri: 'test://static/resource/1' })).toBe(
      'test://static/resource/1'
    );
    expect(encodeResourceUri({ namespace: '', uri: 'file:///a' })).toBe('file:///a');
    expect(encodeResourceUri({ namespace: '', uri: 'test://other+x' })).toBe('test://+other+x');
    expect(encodeResourceUri({ namespace: '', uri: 'test://{id}' })).toBe('test://+{id}');
  });

  it('decodes what a client expands from a rewritten template to the server own expansion', () => {
    const template = encodeResourceUri({ namespace: 'e', uri: 'test://resource/{id}' })!;
    expect(decodeResourceUri(template.replace('{id}', 'a+b'))).toEqual({
      namespace: 'e',
      uri: 'test://resource/a+b'
    });
    const bare = encodeResourceUri({ namespace: '', uri: 'test://{id}' })!;
    expect(decodeResourceUri(bare.replace('{id}', 'x+y'))).toEqual({ namespace: '', uri: 'test://x+y' });
  });

  it('round-trips every URI it encodes', () => {
    fc.assert(
      fc.property(namespaceArb, uriArb, (namespace, uri) => {
        const exposed = encodeResourceUri({ namespace, uri });
        if (exposed === undefined) return;
        expect(decodeResourceUri(exposed)).toEqual({ namespace, uri });
        if (HEAD.test(uri)) expect(exposed.slice(0, uri.indexOf(':'))).toBe(uri.slice(0, uri.indexOf(':')));
      }),
      { numRuns: 5000 }
    );
  });

  it('encodes every absolute URI', () => {
    fc.assert(
      fc.property(namespaceArb, uriArb, (namespace, uri) => {
        if (HEAD.test(uri)) expect(encodeResourceUri({ namespace, uri })).toBeDefined();
      }),
      { numRuns: 5000 }
    );
  });

  it('never gives two servers the same exposed URI', () => {
    fc.assert(
      fc.property(namespaceArb, namespaceArb, uriArb, uriArb, (ns1, ns2, uri1, uri2) => {
        fc.pre(ns1 !== ns2 || uri1 !== uri2);
        const a = encodeResourceUri({ namespace: ns1, uri: uri1 });
        const b = encodeResourceUri({ namespace: ns2, uri: uri2 });
        if (a !== undefined && b !== undefined) expect(a).not.toBe(b);
      }),
      { numRuns: 5000 }
    );
    // The same URI under two namespaces, the empty one included.
    fc.assert(
      fc.property(namespaceArb, namespaceArb, uriArb, (ns1, ns2, uri) => {
        fc.pre(ns1 !== ns2);
        const a = encodeResourceUri({ namespace: ns1, uri });
        if (a !== undefined) expect(a).not.toBe(encodeResourceUri({ namespace: ns2, uri }));
      }),
      { numRuns: 5000 }
    );
  });
});

const HEAD = /^[A-Za-z][A-Za-z0-9+.-]*:/;
