import { SERVER_INFO_META_KEY, type Implementation, type Tool } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import { encodeCursor } from './gateway-server.js';
import { isObject } from '../connectors/is-object.js';

/** At most this many scopes keep their pages; past it the oldest is dropped (tokens are few; this bounds a flood). */
const MAX_SCOPES = 64;
/** The first page's key: no cursor a client sends equals it (`''` is a cursor the SDK path refuses). */
const FIRST = Symbol('first page');

/** One page of a `tools/list` result, kept serialized. */
export interface ToolPage {
  /**
   * The `result` as UTF-8 JSON, exactly as the SDK path writes it; written as it is (encoding a
   * 500 KB page again for each answer took about as long as the rest of the answer). Never to be
   * written into: every answer shares it.
   */
  readonly encoded: Buffer;
  /** The result as an object that serializes to {@link encoded} (what an event store keeps for replay). */
  readonly result: Readonly<Record<string, unknown>>;
}

/**
 * The `tools/list` results of the catalog in one era's encoding, serialized once: for each
 * principal scope (the tools a token's `servers`/`tools` let it see) and each page, the JSON of the
 * `result` exactly as the SDK path writes it. In the 2026-07-28 era: the page's tools (without
 * the deleted `execution` field), `nextCursor`, then the encode seam's `resultType`, `ttlMs`,
 * `cacheScope` and the server's identity in `_meta`. In the 2025 era: the page's tools as they are
 * and `nextCursor`, nothing added; a page with a tool whose `outputSchema` root is not an object
 * (which the SDK's 2025 encoder rewraps) is not kept: it is left to the SDK. Pages are cut lazily
 * and kept until {@link clear} (the catalog's tools changed) or until the list they were cut from is
 * no longer the catalog's.
 */
export class ToolPages {
  /** The list the pages were cut from: a new list (by identity) drops them all. */
  private source: readonly Tool[] | undefined;
  /** Scope key → the scope's visible tools and its pages by cursor ({@link FIRST}: the first). */
  private readonly scopes = new Map<
    string,
    { tools: readonly Tool[]; pages: Map<string | typeof FIRST, ToolPage> }
  >();
  /** What the 2026 era's encoder adds after `nextCursor` (none in the 2025 era). */
  private readonly tail: Readonly<Record<string, unknown>> | undefined;

  constructor(
    private readonly options: {
      /** Tools per page, as the SDK path pages them. */
      readonly pageSize: number;
      /** Whether `principal` may see `name` (the runner's rule, the one the SDK path filters by). */
      readonly allows: (principal: Principal | undefined, name: string) => boolean;
      /** The gateway's identity, stamped into every 2026-era result's `_meta`. */
      readonly serverInfo: Implementation;
      /** The era whose encoding the pages have (default `modern`, 2026-07-28). */
      readonly era?: 'legacy' | 'modern';
    }
  ) {
    this.tail =
      options.era === 'legacy'
        ? undefined
        : {
            resultType: 'complete',
            ttlMs: 0,
            cacheScope: 'private',
            _meta: { [SERVER_INFO_META_KEY]: options.serverInfo }
          };
  }

  /** Drops every page: the catalog's tools changed. */
  clear(): void {
    this.scopes.clear();
    this.source = undefined;
  }

  /**
   * The page at `cursor` of `all` as `principal` sees it; undefined for a cursor this never issued
   * (the SDK path decides what it means, or refuses it) or a page the SDK is to encode.
   */
  page(
    all: readonly Tool[],
    principal: Principal | undefined,
    cursor: string | undefined
  ): ToolPage | undefined {
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
    const cached = scope.pages.get(cursor ?? FIRST);
    if (cached !== undefined) return cached;
    const offset = cursor === undefined ? 0 : issuedOffset(cursor, this.options.pageSize);
    if (offset === undefined || (offset > 0 && offset >= scope.tools.length)) return undefined;
    const end = offset + this.options.pageSize;
    const nextCursor = end < scope.tools.length ? encodeCursor(end) : undefined;
    const listed = scope.tools.slice(offset, end);
    let result: Record<string, unknown>;
    if (this.tail) {
      result = { tools: listed.map(withoutExecution), ...(nextCursor ? { nextCursor } : {}), ...this.tail };
    } else {
      // The SDK's 2025 encoder rewraps an `outputSchema` whose root is not an object: its to answer.
      if (listed.some(tool => isObject(tool.outputSchema) && tool.outputSchema.type !== 'object')) {
        return undefined;
      }
      result = { tools: listed, ...(nextCursor ? { nextCursor } : {}) };
    }
    const page = { encoded: Buffer.from(JSON.stringify(result)), result };
    scope.pages.set(cursor ?? FIRST, page);
    return page;
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
