/** Headers of a 2025-era POST to /mcp made without an SDK client. */
export const RAW_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25'
};

/**
 * A raw 2025-era `initialize`, read to its end: the session it opens is never used or deleted (as a
 * client that exits without DELETE, like the Inspector CLI, leaves it).
 */
export async function rawInitialize(url: URL, clientName = 'raw'): Promise<Response> {
  const response = await fetch(url, {
    method: 'POST',
    headers: RAW_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: clientName, version: '1' }
      }
    })
  });
  await response.text();
  return response;
}

/**
 * A raw 2026-07-28 request (a per-request `_meta` envelope naming `clientName`), with the standard
 * headers an SDK client sends (`MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` for a
 * `tools/call`) unless `headers` overrides them (`undefined` leaves one out).
 */
export function rawModernRequest(
  url: URL,
  method: string,
  params: Record<string, unknown> = {},
  options: { clientName?: string; headers?: Record<string, string | undefined> } = {}
): Promise<Response> {
  const standard: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
    'mcp-name': typeof params.name === 'string' ? params.name : undefined,
    ...options.headers
  };
  const headers = Object.fromEntries(
    Object.entries(standard).filter((entry): entry is [string, string] => entry[1] !== undefined)
  );
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: options.clientName ?? 'raw-modern', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {}
  };
  return fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta } })
  });
}
