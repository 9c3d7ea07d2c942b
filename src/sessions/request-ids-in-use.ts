import type { ServerResponse } from 'node:http';

type RequestId = string | number;

/**
 * The ids of each 2025-era session's requests being answered now. A request id must not be reused
 * within a session (MCP, 2025-11-25), and the SDK's session transport keys each request's stream
 * by it: a second request with the id of one still running took that stream over, so the first
 * never got its answer and its POST stayed open. A request whose id is in use is refused instead.
 */
export class RequestIdsInUse {
  private readonly bySession = new WeakMap<object, Set<RequestId>>();

  /**
   * Claims the ids of the requests in `body` (one message or a batch) for `session` until `res`
   * closes (its answers sent, or the client gone). Returns an id already in use, having claimed
   * nothing; undefined once all are claimed.
   */
  claim(session: object, body: unknown, res: ServerResponse): RequestId | undefined {
    const ids = requestIdsOf(body);
    if (ids.length === 0) return undefined;
    let inUse = this.bySession.get(session);
    if (!inUse) this.bySession.set(session, (inUse = new Set()));
    const seen = new Set<RequestId>();
    for (const id of ids) {
      if (inUse.has(id) || seen.has(id)) return id;
      seen.add(id);
    }
    for (const id of ids) inUse.add(id);
    res.once('close', () => {
      for (const id of ids) inUse.delete(id);
    });
    return undefined;
  }
}

/** The ids of the requests (not notifications or responses) in a parsed JSON-RPC body. */
function requestIdsOf(body: unknown): RequestId[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: RequestId[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}
