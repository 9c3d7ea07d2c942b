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
