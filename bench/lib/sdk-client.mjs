// The SDK's own client over Streamable HTTP, as a real MCP client connects to the gateway: pinned
// to 2025-11-25 with a session (`legacy`), or negotiating 2026-07-28 (`modern`).
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export async function connectSdk(url, era) {
  const client = new Client(
    { name: `mcp-gateway-bench-${era}`, version: '1.0.0' },
    { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } }
  );
  await client.connect(new StreamableHTTPClientTransport(url));
  if (era === 'modern' && client.getProtocolEra() !== 'modern') {
    throw new Error('the gateway did not negotiate 2026-07-28');
  }
  return client;
}

/** Calls an echo tool through an SDK client and checks the answer. */
export async function sdkEcho(client, tool, text) {
  const result = await client.callTool({ name: tool, arguments: { text } });
  if (result.isError || result.content?.[0]?.text !== text) {
    throw new Error(`unexpected result: ${JSON.stringify(result).slice(0, 300)}`);
  }
  return result;
}
