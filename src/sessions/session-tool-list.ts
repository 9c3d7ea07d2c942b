import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  isJsonContentType,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type JSONRPCMessage
} from '@modelcontextprotocol/server';
import { principalOfAuth } from '../auth/principal.js';
import type { BoundedEventStore } from './bounded-event-store.js';
import type { FastPath } from './fast-path.js';
import { writeAround } from './write-around.js';
import { isObject } from '../connectors/is-object.js';

/** The first revision whose clients take an event with no data: the SDK primes a POST's stream for them. */
const PRIMED_FROM = '2025-11-25';

/** The open 2025-era session a request names, as far as its `tools/list` needs it. */
export interface ListingSession {
  readonly id: string;
  /** The profile it was opened on (undefined: the root). */
  readonly profile: string | undefined;
  /** Its event store: the answer's events are held there for `Last-Event-ID` replay. */
  readonly events: BoundedEventStore;
  /** The `retry:` its transport sends on each stream (milliseconds). */
  readonly retryMs: number;
  /** Whether it is still open (a list may wait for discovery, and the session close meanwhile). */
  readonly isOpen: () => boolean;
}

/**
 * A 2025-era session's `tools/list`, answered from the kept pages ({@link FastPath.sessionPage})
 * instead of by its SDK transport and server. It serves only a request every check of the SDK's
 * transport would pass and that asks for nothing else (see {@link eligible}), and writes what the
 * transport writes for it: the same headers, the same SSE stream (a priming event for clients on
 * 2025-11-25 or later, then the answer), each event held in the session's event store under the
 * transport's id scheme, so that a cut stream is resumed with `Last-Event-ID` as on the SDK path.
 * Anything else — a batch, a progress token, `_meta` the SDK's codec reads, a header the transport
 * refuses, a cursor the pages never issued, a search endpoint, a removed profile — is left to the
 * SDK path, which is always correct. A property test holds the two paths' answers equal.
 */
export class SessionToolList {
  constructor(private readonly fastPath: FastPath) {}

  /**
   * Answers `body` on `session` when it is a `tools/list` this serves; resolves false, having written
   * nothing, when the session's transport is to serve it. The caller has found the session (its
   * principal and profile checked) and marked it seen.
   */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    session: ListingSession
  ): Promise<boolean> {
    const request = eligible(req, body);
    if (!request) return false;
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth);
    const page = await this.fastPath.sessionPage(session.profile, principal, request.cursor);
    // A session closed meanwhile: its transport answers as it does for a closed session.
    if (!page || !session.isOpen()) return false;
    const streamId = randomUUID();
    let head = '';
    if (request.primed) {
      const id = await session.events.storeEvent(streamId, {} as JSONRPCMessage);
      head = `id: ${id}\nretry: ${session.retryMs}\ndata: \n\n`;
    }
    // The answer as the SDK's protocol layer builds it: `result`, `jsonrpc`, `id`, in that order.
    const tail = `,"jsonrpc":"2.0","id":${JSON.stringify(request.id)}}`;
    const message = { result: page.result, jsonrpc: '2.0', id: request.id } as JSONRPCMessage;
    const bytes = page.encoded.length + 10 + Buffer.byteLength(tail);
    const id = await session.events.storeEvent(streamId, message, bytes);
    head += `event: message\nid: ${id}\ndata: {"result":`;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'mcp-session-id': session.id
    });
    writeAround(res, head, page.encoded, `${tail}\n\n`);
    return true;
  }
}

/**
 * The request, when the SDK's transport and server would serve it as a plain `tools/list`: a POST
 * whose `Accept` takes both JSON and SSE, with a JSON content type and an `MCP-Protocol-Version`
 * that is absent or one the transport accepts (not the 2026 era's); a body of one JSON-RPC request
 * (`jsonrpc`, a string or integer `id`, `method`, optionally `params`, nothing else) whose params
 * are only a `cursor` (a string) and `_meta`, with no progress token and no key of the protocol's
 * own (`io.modelcontextprotocol/…`, which the SDK's codec lifts or validates). `primed`: whether the
 * transport opens the stream with a priming event (by the header's revision, as it decides).
 */
function eligible(
  req: IncomingMessage,
  body: unknown
): { id: string | number; cursor: string | undefined; primed: boolean } | undefined {
  if (req.method !== 'POST' || !isObject(body)) return undefined;
  const { jsonrpc, id, method, params, ...rest } = body;
  if (jsonrpc !== '2.0' || method !== 'tools/list' || Object.keys(rest).length > 0) return undefined;
  if (!(typeof id === 'string' || Number.isSafeInteger(id))) return undefined;
  let cursor: string | undefined;
  if (params !== undefined) {
    if (!isObject(params)) return undefined;
    const { cursor: asked, _meta: meta, ...others } = params;
    if (Object.keys(others).length > 0) return undefined;
    if (asked !== undefined && typeof asked !== 'string') return undefined;
    if (meta !== undefined && !isPlainMeta(meta)) return undefined;
    cursor = asked;
  }
  const accept = req.headers.accept;
  if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  // Node keeps the first of two `Content-Type` headers; the SDK's transport reads them joined.
  if (!isJsonContentType(req.headers['content-type']) || !singleContentType(req.rawHeaders)) return undefined;
  const version = req.headers['mcp-protocol-version'];
  if (Array.isArray(version)) return undefined; // for the type: Node joins a repeated header
  if (version !== undefined && !(SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    return undefined;
  }
  const revision = version ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
  return { id: id as string | number, cursor, primed: revision >= PRIMED_FROM };
}

function singleContentType(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'content-type') seen++;
  }
  return seen === 1;
}

/** `_meta` the SDK passes by: an object with no progress token and no key of the protocol's own. */
function isPlainMeta(meta: unknown): boolean {
  return (
    isObject(meta) &&
    Object.keys(meta).every(key => key !== 'progressToken' && !key.startsWith('io.modelcontextprotocol/'))
  );
}
