import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeResourceUri,
  encodeResourceTemplate,
  encodeResourceUri
} from '../../src/catalog/resource-uris.js';

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

/** RFC 6570 expansion, levels 1 and 2 (`{v}`, `{+v}`, `{#v}`): enough to check the template rewrite. */
function expand(template: string, values: Record<string, string>): string {
  const bytes = (char: string) =>
    [...new TextEncoder().encode(char)]
      .map(byte => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('');
  const encode = (value: string, reserved: boolean) =>
    [...value]
      .map(char =>
        /^[A-Za-z0-9\-._~]$/.test(char) || (reserved && /^[:/?#[\]@!$&'()*+,;=]$/.test(char))
          ? char
          : bytes(char)
      )
      .join('');
  return template.replace(/\{([+#]?)(\w+)\}/g, (_whole, operator: string, name: string) => {
    const value = values[name] ?? '';
    return operator === '#' ? `#${encode(value, true)}` : encode(value, operator === '+');
  });
}

const expressionArb = fc
  .tuple(fc.constantFrom('', '+', '#'), fc.constantFrom('a', 'b'))
  .map(([operator, name]) => `{${operator}${name}}`);
const literalArb = fc.stringMatching(/^[A-Za-z0-9+/.:\-_]{0,6}$/);
/** Templates: a scheme (sometimes holding a variable), a separator, literals and expressions after it. */
const templateArb = fc
  .tuple(
    fc.constantFrom('ui', 'file', 'test', 'urn', 'a+b.c-d', '{s}', 'http{s}'),
    fc.constantFrom('://', ':', ':/', ':///'),
    fc.array(fc.oneof(literalArb, expressionArb), { maxLength: 4 })
  )
  .map(([scheme, sep, parts]) => `${scheme}${sep}${parts.join('')}`);
const valueArb = fc.stringMatching(/^[A-Za-z0-9+/:.\-{}%]{0,12}$/);

describe('resource URI template rewrite', () => {
  it("routes every expansion of an exposed template back to its server and the server's own expansion", () => {
    fc.assert(
      fc.property(
        namespaceArb,
        templateArb,
        fc.record({ a: valueArb, b: valueArb, s: valueArb }),
        (namespace, template, values) => {
          const exposed = encodeResourceTemplate({ namespace, uri: template });
          const brace = template.indexOf('{');
          // Only a template whose scheme holds a variable is left out, and it always is.
          expect(exposed === undefined).toBe(brace !== -1 && brace < template.indexOf(':'));
          if (exposed === undefined) return;
          expect(decodeResourceUri(expand(exposed, values))).toEqual({
            namespace,
            uri: expand(template, values)
          });
        }
      ),
      { numRuns: 10_000 }
    );
  });

  it('marks every template of the empty namespace and drops those with a variable in the scheme', () => {
    expect(encodeResourceTemplate({ namespace: '', uri: 'file:/{+path}' })).toBe('file:+/{+path}');
    expect(
      decodeResourceUri(
        expand(encodeResourceTemplate({ namespace: '', uri: 'file:/{+path}' })!, { path: '/work+x/notes' })
      )
    ).toEqual({ namespace: '', uri: 'file://work+x/notes' });
    expect(encodeResourceTemplate({ namespace: 'e', uri: '{s}://x' })).toBeUndefined();
    expect(encodeResourceTemplate({ namespace: '', uri: 'http{s}://x/{id}' })).toBeUndefined();
  });
});
