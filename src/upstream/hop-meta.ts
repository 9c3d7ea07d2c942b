/** The `_meta` keys of MCP itself (`io.modelcontextprotocol/serverInfo`, …). */
const HOP_META_PREFIX = 'io.modelcontextprotocol/';

/**
 * `result` without the `io.modelcontextprotocol/*` `_meta` keys, which describe the hop between the
 * gateway and the server (the server's identity, say), not the answer: the gateway's own are put
 * on the hop to its client. Everything else is the server's and passes through.
 */
export function withoutHopMeta<R extends { _meta?: Record<string, unknown> | undefined }>(result: R): R {
  const meta = result._meta;
  if (!meta || !Object.keys(meta).some(key => key.startsWith(HOP_META_PREFIX))) return result;
  const kept = Object.fromEntries(Object.entries(meta).filter(([key]) => !key.startsWith(HOP_META_PREFIX)));
  const { _meta: _dropped, ...rest } = result;
  return (Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest) as R;
}
