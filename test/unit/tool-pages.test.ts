import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { encodeCursor } from '../../src/sessions/gateway-server.js';
import { ToolPages, type ToolPage } from '../../src/sessions/tool-pages.js';

const tools = (count: number, prefix = 't'): Tool[] =>
  Array.from({ length: count }, (_, i) => ({
    name: `${i % 2 === 0 ? 'alpha' : 'beta'}__${prefix}${i}`,
    inputSchema: { type: 'object' as const }
  }));

const scoped = (id: string, servers: string[]): Principal => ({ id, kind: 'token', admin: false, servers });

/** Pages of 3, a principal sees a tool when its `servers` name the tool's server; `asked` counts the checks. */
function pagesOf(era?: 'legacy' | 'modern') {
  let asked = 0;
  const pages = new ToolPages({
    era,
    pageSize: 3,
    serverInfo: { name: 'mcp-gateway', version: '1.2.3' },
    allows: (principal, name) => {
      asked++;
      return !principal?.servers || principal.servers.includes(name.split('__')[0]!);
    }
  });
  return { pages, asked: () => asked };
}

const parse = (page: ToolPage | undefined) => {
  // The kept object serializes to the kept bytes.
  expect(JSON.stringify(page!.result)).toBe(page!.encoded.toString());
  return JSON.parse(page!.encoded.toString()) as {
    tools: Tool[];
    nextCursor?: string;
    resultType: string;
    _meta: unknown;
  };
};

describe('ToolPages', () => {
  it('cuts pages with the cursors the SDK path issues, and the encode seam’s fields', () => {
    const { pages } = pagesOf();
    const all = tools(7);
    const first = parse(pages.page(all, undefined, undefined));
    expect(first.tools.map(tool => tool.name)).toEqual(all.slice(0, 3).map(tool => tool.name));
    expect(first.nextCursor).toBe(encodeCursor(3));
    expect(first).toMatchObject({
      resultType: 'complete',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'mcp-gateway', version: '1.2.3' } }
    });
    const last = parse(pages.page(all, undefined, encodeCursor(6)));
    expect(last.tools.map(tool => tool.name)).toEqual([all[6]!.name]);
    expect(last.nextCursor).toBeUndefined();
  });

  it('leaves a cursor it did not issue to the SDK path, the empty one too once the first page is kept', () => {
    const { pages } = pagesOf();
    const all = tools(7);
    expect(pages.page(all, undefined, undefined)).toBeDefined();
    for (const cursor of [
      '',
      encodeCursor(2),
      encodeCursor(9),
      encodeCursor(0),
      'garbage',
      `${encodeCursor(3)}=`
    ]) {
      expect(pages.page(all, undefined, cursor)).toBeUndefined();
    }
  });

  it('filters by scope once per scope, and keeps the bytes until the tools change', () => {
    const { pages, asked } = pagesOf();
    const all = tools(6);
    const alpha = scoped('token:a', ['alpha']);
    const page = pages.page(all, alpha, undefined);
    expect(parse(page).tools.every(tool => tool.name.startsWith('alpha__'))).toBe(true);
    expect(asked()).toBe(6);
    // Another token with the same scope shares the pages; nothing is checked or cut again.
    expect(pages.page(all, scoped('token:b', ['alpha']), undefined)).toBe(page);
    expect(asked()).toBe(6);
    // A new list from the catalog (its tools changed): cut again, from the new tools.
    const changed = tools(6, 'n');
    expect(parse(pages.page(changed, alpha, undefined)).tools[0]!.name).toBe('alpha__n0');
    expect(asked()).toBe(12);
    pages.clear();
    pages.page(changed, alpha, undefined);
    expect(asked()).toBe(18);
  });

  it('drops the execution field the 2026 era deleted', () => {
    const { pages } = pagesOf();
    const all = [{ ...tools(1)[0]!, execution: { taskSupport: 'optional' } } as Tool];
    expect(parse(pages.page(all, undefined, undefined)).tools[0]).not.toHaveProperty('execution');
    expect(all[0]).toHaveProperty('execution');
  });

  it('cuts 2025-era pages: the tools as they are and nextCursor, nothing added', () => {
    const { pages } = pagesOf('legacy');
    const all = [
      { ...tools(1)[0]!, title: 'é', execution: { taskSupport: 'optional' } } as Tool,
      ...tools(6)
    ];
    const first = pages.page(all, undefined, undefined);
    expect(JSON.parse(first!.encoded.toString())).toEqual({
      tools: all.slice(0, 3),
      nextCursor: encodeCursor(3)
    });
    parse(first);
    expect(parse(pages.page(all, undefined, encodeCursor(6)))).toEqual({ tools: [all[6]] });
  });

  it('leaves to the SDK a 2025-era page whose tool has an outputSchema that is not an object', () => {
    const { pages } = pagesOf('legacy');
    const all = [...tools(3), { ...tools(1, 'x')[0]!, outputSchema: { type: 'array' } } as unknown as Tool];
    expect(pages.page(all, undefined, undefined)).toBeDefined();
    expect(pages.page(all, undefined, encodeCursor(3))).toBeUndefined();
  });

  it('keeps the pages of a bounded number of scopes', () => {
    const { pages, asked } = pagesOf();
    const all = tools(2);
    for (let i = 0; i < 65; i++) pages.page(all, scoped(`token:${i}`, [`server-${i}`]), undefined);
    expect(asked()).toBe(130);
    // The first scope was dropped to make room for the 65th: its pages are cut again.
    pages.page(all, scoped('token:0', ['server-0']), undefined);
    expect(asked()).toBe(132);
    pages.page(all, scoped('token:64', ['server-64']), undefined);
    expect(asked()).toBe(132);
  });
});
