import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type {
  AuthInfo,
  JSONRPCMessage,
  JSONRPCResponse,
  WebStandardStreamableHTTPServerTransport
} from '@modelcontextprotocol/server';

/**
 * The SDK's Node Streamable HTTP transport, plus the one hook the SDK lacks for rebuilding a session
 * after a restart: {@link replay} hands a message to the transport (and the server connected to it)
 * as if a client had posted it, and returns the answer instead of writing it anywhere. Replaying the
 * session's stored `initialize` (with a `sessionIdGenerator` that returns the stored id) marks the
 * transport initialized under that id and gives the server the client's info, capabilities and
 * protocol version, by the SDK's own code paths.
 *
 * The Node transport keeps its web-standard transport in a private field; this reads that field,
 * and fails loudly (at the first restore, and in its unit test) if an SDK upgrade renames it.
 */
export class RestorableTransport extends NodeStreamableHTTPServerTransport {
  /**
   * Serves `message` as a POST of the session's client would be (after `initialize`, with the
   * session id and `protocolVersion` in its headers) and returns the JSON-RPC answer, or undefined
   * for a notification. Rejects when the transport refuses the message (an HTTP error status).
   */
  async replay(
    message: JSONRPCMessage,
    options: { authInfo?: AuthInfo | undefined; protocolVersion?: string | undefined } = {}
  ): Promise<JSONRPCResponse | undefined> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream'
    };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    if (options.protocolVersion !== undefined) headers['mcp-protocol-version'] = options.protocolVersion;
    const request = new Request('http://restore.invalid/mcp', {
      method: 'POST',
      headers,
      body: JSON.stringify(message)
    });
    const response = await this.inner().handleRequest(request, {
      parsedBody: message,
      ...(options.authInfo ? { authInfo: options.authInfo } : {})
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the transport refused a replayed ${describe(message)}: ${text}`);
    return answerIn(text, response.headers.get('content-type'));
  }

  private inner(): WebStandardStreamableHTTPServerTransport {
    const inner = (this as unknown as { _webStandardTransport?: WebStandardStreamableHTTPServerTransport })
      ._webStandardTransport;
    if (typeof inner?.handleRequest !== 'function') {
      throw new Error(
        'this version of @modelcontextprotocol/node keeps no _webStandardTransport: sessions cannot be restored; update RestorableTransport'
      );
    }
    return inner;
  }
}

function describe(message: JSONRPCMessage): string {
  return 'method' in message ? message.method : 'response';
}

/** The JSON-RPC answer in a POST's response: a JSON body, or the `data:` of an SSE event. */
function answerIn(text: string, contentType: string | null): JSONRPCResponse | undefined {
  if (text.trim() === '') return undefined;
  if (contentType?.includes('application/json')) return JSON.parse(text) as JSONRPCResponse;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice('data:'.length).trim();
    if (data === '') continue;
    const parsed = JSON.parse(data) as JSONRPCMessage;
    if ('id' in parsed && !('method' in parsed)) return parsed;
  }
  return undefined;
}
