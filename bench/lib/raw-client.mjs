// A minimal Streamable HTTP client: JSON-RPC POSTs over node:http keep-alive sockets, nothing else.
// It is the load generator for the throughput and memory sections, where the SDK client's own CPU
// (fetch, schema validation) would compete with the gateway for the machine's two cores and the
// figures would measure the client. Both protocol eras, exactly as the SDK client sends them.
import http from 'node:http';

const LEGACY_VERSION = '2025-11-25';
const MODERN_VERSION = '2026-07-28';
const CLIENT_INFO = { name: 'mcp-gateway-bench', version: '1.0.0' };

/** One keep-alive agent per bench client group: `sockets` connections at most. */
export function keepAliveAgent(sockets) {
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/** POSTs/DELETEs `body`; resolves with status, headers and the whole response text. */
function exchange(url, agent, method, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method, agent, headers },
      response => {
        const chunks = [];
        response.on('data', chunk => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8')
          })
        );
        response.on('error', reject);
      }
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The JSON-RPC message in a response: a JSON body, or the last `data:` of an SSE body. */
function messageOf(response) {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.text.slice(0, 300)}`);
  const type = response.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return JSON.parse(response.text);
  let data;
  for (const line of response.text.split('\n')) if (line.startsWith('data:')) data = line.slice(5).trim();
  if (data === undefined) throw new Error(`no data in the event stream: ${response.text.slice(0, 300)}`);
  return JSON.parse(data);
}

function resultOf(message) {
  if (message.error) throw new Error(`JSON-RPC ${message.error.code}: ${message.error.message}`);
  return message.result;
}

/** A 2025-11-25 session: `initialize` opens it, DELETE ends it. */
export class LegacySession {
  nextId = 1;

  constructor(url, agent, sessionId) {
    this.url = url;
    this.agent = agent;
    this.sessionId = sessionId;
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': LEGACY_VERSION,
      'mcp-session-id': sessionId
    };
  }

  static async open(url, agent) {
    const init = await exchange(
      url,
      agent,
      'POST',
      { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: CLIENT_INFO }
      })
    );
    resultOf(messageOf(init));
    const sessionId = init.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') throw new Error('initialize answered without a session id');
    const session = new LegacySession(url, agent, sessionId);
    const ack = await exchange(
      url,
      agent,
      'POST',
      session.headers,
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
    );
    if (ack.status !== 202) throw new Error(`notifications/initialized got HTTP ${ack.status}`);
    return session;
  }

  /** Sends one request; resolves with its result, rejects with a JSON-RPC or HTTP error. */
  async request(method, params) {
    return resultOf(messageOf(await this.exchange(method, params)));
  }

  /** Sends one request; resolves with the whole response body, received but not parsed. */
  async requestText(method, params) {
    const response = await this.exchange(method, params);
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    return response.text;
  }

  exchange(method, params) {
    const body = JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params });
    return exchange(this.url, this.agent, 'POST', this.headers, body);
  }

  async close() {
    await exchange(this.url, this.agent, 'DELETE', this.headers, undefined);
  }
}

/** The 2026-07-28 era: no session; every request carries the protocol envelope in `_meta`. */
export class ModernClient {
  nextId = 1;

  constructor(url, agent) {
    this.url = url;
    this.agent = agent;
  }

  async request(method, params = {}) {
    return resultOf(messageOf(await this.exchange(method, params)));
  }

  /** Sends one request; resolves with the whole response body, received but not parsed. */
  async requestText(method, params = {}) {
    const response = await this.exchange(method, params);
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    return response.text;
  }

  exchange(method, params) {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-method': method,
      'mcp-protocol-version': MODERN_VERSION,
      ...(method === 'tools/call' ? { 'mcp-name': params.name } : {})
    };
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: this.nextId++,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
          'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
          'io.modelcontextprotocol/clientCapabilities': {}
        }
      }
    });
    return exchange(this.url, this.agent, 'POST', headers, body);
  }

  async close() {}
}

/** Calls `tool` with `args` and checks the echo came back. */
export async function callEcho(client, tool, text) {
  const result = await client.request('tools/call', { name: tool, arguments: { text } });
  if (result.isError || result.content?.[0]?.text !== text) {
    throw new Error(`unexpected result: ${JSON.stringify(result).slice(0, 300)}`);
  }
  return result;
}
