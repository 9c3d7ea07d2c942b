#!/usr/bin/env node
// The least a gateway built on the official MCP SDK can do, as a second floor beside
// http-floor.mjs: the SDK's own Streamable HTTP transports and server in front, the SDK's client
// behind, and nothing of the gateway's (no catalog, no limits, no history, no logging, no
// validation of its own). Prints its port on stdout, then serves until SIGTERM.
//
//   sdk-floor.mjs relay <image> <owner>   starts <image> through the gateway's Docker runtime and
//                                         stdio framing (dist/), connects an SDK Client to it, and
//                                         serves `fixture__*` tools that forward to it
//   sdk-floor.mjs list <tools.json>       serves the tools in the file; `tools/call` is refused
//
// Both eras are served as the gateway serves them: a request with an `Mcp-Session-Id`, or an
// `initialize`, goes to a 2025-era session (NodeStreamableHTTPServerTransport and a Server kept
// per session); anything else to `createMcpHandler` (a fresh Server per 2026-era request).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/client';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { createLogger } from '../../dist/log.js';
import { DockerRuntime } from '../../dist/runtime/docker-runtime.js';
import { StreamTransport } from '../../dist/connectors/stream-transport.js';
import { dockerSpec } from '../lib/direct.mjs';
import { readBody, serveFloor } from './floor-http.mjs';

const [mode, arg, owner] = process.argv.slice(2);
const PREFIX = 'fixture__';

let listTools;
let callTool;
let stop = async () => {};
if (mode === 'relay') {
  const runtime = new DockerRuntime({ owner, log: createLogger('silent') });
  const server = await runtime.start(dockerSpec(arg), () => {}, new AbortController().signal);
  const client = new Client({ name: 'sdk-floor', version: '1.0.0' });
  await client.connect(new StreamTransport(server.stdout, server.stdin));
  const { tools } = await client.listTools();
  const named = tools.map(tool => ({ ...tool, name: `${PREFIX}${tool.name}` }));
  listTools = () => named;
  callTool = (name, args) => client.callTool({ name: name.slice(PREFIX.length), arguments: args });
  stop = async () => {
    await client.close();
    await server.stop();
  };
} else if (mode === 'list') {
  const tools = JSON.parse(readFileSync(arg, 'utf8'));
  listTools = () => tools;
  callTool = () => {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'this floor only lists');
  };
} else {
  process.stderr.write('usage: sdk-floor.mjs relay <image> <owner> | list <tools.json>\n');
  process.exit(2);
}

function newServer() {
  const server = new Server({ name: 'sdk-floor', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({ tools: listTools() }));
  server.setRequestHandler('tools/call', request => callTool(request.params.name, request.params.arguments));
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

serveFloor(async (req, res) => {
  const body = req.method === 'POST' ? JSON.parse(await readBody(req)) : undefined;
  if (req.headers['mcp-session-id'] !== undefined || body?.method === 'initialize')
    await legacy(req, res, body);
  else await modern(req, res, body);
}, stop);
