#!/usr/bin/env node
// A remote MCP server on loopback for the bench's remote row: one `echo` tool served over the SDK's
// Streamable HTTP transports, in both eras as sdk-floor.mjs serves them (a request with an
// `Mcp-Session-Id`, or an `initialize`, goes to a 2025-era session; anything else to
// `createMcpHandler`). It does nothing else, so that a call straight to it and a call through the
// gateway (as a `url:` server) differ only by what the gateway adds. Prints its port on stdout
// (its endpoint is /mcp, as startFloor assumes), then serves until SIGTERM.
import { randomUUID } from 'node:crypto';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { readBody, serveFloor } from './floor-http.mjs';

const ECHO = {
  name: 'echo',
  description: 'Returns its text',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }
};

function newServer() {
  const server = new Server({ name: 'remote-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({ tools: [ECHO] }));
  server.setRequestHandler('tools/call', request => {
    if (request.params.name !== 'echo') {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    }
    return { content: [{ type: 'text', text: String(request.params.arguments?.text ?? '') }] };
  });
  return server;
}

const sessions = new Map();
async function legacy(req, res, body) {
  const id = req.headers['mcp-session-id'];
  let transport = id === undefined ? undefined : sessions.get(id);
  if (!transport) {
    if (id !== undefined) {
      res.writeHead(404).end();
      return;
    }
    transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: sessionId => sessions.set(sessionId, transport),
      onsessionclosed: sessionId => sessions.delete(sessionId)
    });
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const modern = toNodeHandler(createMcpHandler(newServer, { legacy: 'reject' }));

serveFloor(
  async (req, res) => {
    const body = req.method === 'POST' ? JSON.parse(await readBody(req)) : undefined;
    if (req.headers['mcp-session-id'] !== undefined || body?.method === 'initialize')
      await legacy(req, res, body);
    else await modern(req, res, body);
  },
  async () => {}
);
