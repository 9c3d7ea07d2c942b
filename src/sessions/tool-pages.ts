import { SERVER_INFO_META_KEY, type Implementation, type Tool } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import { encodeCursor } from './gateway-server.js';

/** At most this many scopes keep their pages; past it the oldest is dropped (tokens are few; this bounds a flood). */
const MAX_SCOPES = 64;

/**
 * The 2026-07-28 `tools/list` results of the catalog, serialized once: for each principal scope
 * (the tools a token's `servers`/`tools` let it see) and each page, the UTF-8 JSON of the `result`
 * exactly as the SDK path writes it — the page's tools (without the deleted `execution` field),
 * `nextCursor`, then the encode seam's `resultType`, `ttlMs`, `cacheScope` and the server's
 * identity in `_meta`. Pages are cut lazily and kept until {@link clear} (the catalog's tools
 * changed) or until the list they were cut from is no longer the catalog's. Kept as bytes, so that
 * answering writes them as they are: encoding a 500 KB page again for each answer took about as
 * long as the rest of the answer.
 */
export class ToolPages {
  /** The list the pages were cut from: a new list (by identity) drops them all. */
  private source: readonly Tool[] | undefined;
  /** Scope key → the scope's visible tools and its pages by cursor (`''`: the first). */
  private readonly scopes = new Map<string, { tools: readonly Tool[]; pages: Map<string, Buffer> }>();
  private readonly tail: string;

  constructor(
    private readonly options: {
      /** Tools per page, as the SDK path pages them. */
      readonly pageSize: number;
      /** Whether `principal` may see `name` (the runner's rule, the one the SDK path filters by). */
      readonly allows: (principal: Principal | undefined, name: string) => boolean;
      /** The gateway's identity, stamped into every result's `_meta`. */
      readonly serverInfo: Implementation;
    }
  ) {
    this.tail = `"resultType":"complete","ttlMs":0,"cacheScope":"private","_meta":${JSON.stringify({
      [SERVER_INFO_META_KEY]: options.serverInfo
    })}}`;
  }

  /** Drops every page: the catalog's tools changed. */
  clear(): void {
    this.scopes.clear();
    this.source = undefined;
  }

  /**
   * The result (UTF-8 JSON) of the page at `cursor` of `all` as `principal` sees it; undefined for a
   * cursor this never issued (the SDK path decides what it means, or refuses it). The same bytes
   * each time until the pages are dropped: never to be written into.
   */
  page(
    all: readonly Tool[],
    principal: Principal | undefined,
    cursor: string | undefined
  ): Buffer | undefined {
    if (all !== this.source) this.clear();
    this.source = all;
    const key = scopeKey(principal);
    let scope = this.scopes.get(key);
    if (!scope) {
      const tools = key === '' ? all : all.filter(tool => this.options.allows(principal, tool.name));
      scope = { tools, pages: new Map() };
      if (this.scopes.size >= MAX_SCOPES) this.scopes.delete(this.scopes.keys().next().value!);
      this.scopes.set(key, scope);
    }
    const cached = scope.pages.get(cursor ?? '');
    if (cached !== undefined) return cached;
    const offset = cursor === undefined ? 0 : issuedOffset(cursor, this.options.pageSize);
    if (offset === undefined || (offset > 0 && offset >= scope.tools.length)) return undefined;
    const end = offset + this.options.pageSize;
    const tools = scope.tools.slice(offset, end).map(withoutExecution);
    const next = end < scope.tools.length ? `"nextCursor":${JSON.stringify(encodeCursor(end))},` : '';
    const bytes = Buffer.from(`{"tools":${JSON.stringify(tools)},${next}${this.tail}`);
    scope.pages.set(cursor ?? '', bytes);
    return bytes;
  }
}

/** '' for a principal that sees every tool; else its scope, which decides what it sees. */
function scopeKey(principal: Principal | undefined): string {
  if (!principal || (principal.servers === undefined && principal.tools === undefined)) return '';
  return JSON.stringify([principal.servers ?? null, principal.tools ?? null]);
}

/** The SDK's 2026-era encode seam deletes `execution` from listed tools; so does this. */
function withoutExecution(tool: Tool): Tool {
  if (!('execution' in tool)) return tool;
  const { execution: _execution, ...rest } = tool as Tool & { execution?: unknown };
  return rest;
}

/** The offset of a cursor the pages issued (a multiple of the page size, in the canonical spelling); else undefined. */
function issuedOffset(cursor: string, pageSize: number): number | undefined {
  const match = /^o:([1-9]\d{0,8})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) return undefined;
  const offset = Number(match[1]);
  return offset % pageSize === 0 && encodeCursor(offset) === cursor ? offset : undefined;
}
