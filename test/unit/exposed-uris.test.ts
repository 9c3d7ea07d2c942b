import { describe, expect, it } from 'vitest';
import { exposeContentUris, exposeToolUris, exposeUri } from '../../src/catalog/exposed-uris.js';
import { decodeResourceUri } from '../../src/catalog/resource-uris.js';

describe('URIs a server points at outside the resource lists', () => {
  it('rewrites what the codec carries and keeps what it cannot only when it still reaches the server', () => {
    expect(exposeUri('a', 'ui://panel')).toBe('ui://a+panel');
    // `1b+c:x` cannot be carried for server a, and as written it decodes to namespace 1b.
    expect(decodeResourceUri('1b+c:x').namespace).toBe('1b');
    expect(exposeUri('a', '1b+c:x')).toBeUndefined();
    // For the empty namespace, a non-absolute URI without a `+` still decodes to it.
    expect(exposeUri('', 'relative/path')).toBe('relative/path');
  });

  it('drops a content block, or a tool UI link, that would lead to another server', () => {
    expect(exposeContentUris({ type: 'resource_link', uri: '1b+c:x', name: 'x' }, 'a')).toBeUndefined();
    expect(
      exposeContentUris({ type: 'resource', resource: { uri: '1b+c:x', text: 't' } }, 'a')
    ).toBeUndefined();
    expect(exposeContentUris({ type: 'resource_link', uri: 'ui://p', name: 'p' }, 'a')).toMatchObject({
      uri: 'ui://a+p'
    });
    const tool = exposeToolUris(
      { name: 't', inputSchema: { type: 'object' }, _meta: { ui: { resourceUri: '1b+c:x', x: 1 } } },
      'a'
    );
    expect(tool._meta).toEqual({ ui: { x: 1 } });
  });
});
