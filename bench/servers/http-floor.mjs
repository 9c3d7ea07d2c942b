#!/usr/bin/env node
// The least a Node.js HTTP front can do, as a floor for what the gateway adds: node:http on
// 127.0.0.1, keep-alive, a JSON body in and a JSON body out, nothing else (no MCP SDK, no
// sessions, no validation, no logging). Prints its port on stdout, then serves until SIGTERM.
//
//   http-floor.mjs relay <image> <owner>   starts <image> through the gateway's own Docker runtime
//                                          (dist/), runs the 2025 `initialize` handshake, then relays
//                                          each POSTed `tools/call` and `tools/list` to the container's
//                                          stdin (id and `fixture__` prefix rewritten) and its answer
//                                          back. It answers `initialize` itself (a 2025-11-25 session
//                                          in name only) so that the SDK's own client can use it too.
//   http-floor.mjs list <tools.json>       answers every POST with `{ result: { tools } }`, the
//                                          tools serialized anew each time, as a server must
//   http-floor.mjs list-cached <tools.json> the same answer serialized and encoded once: only the
//                                          bytes move (written as they are, around the request's id)
//   http-floor.mjs list-pages <tools.json> <size>  the tools in pages of <size> (`nextCursor` the next
//                                          page's offset, as text), each page serialized and encoded once
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createLogger } from '../../dist/log.js';
import { DockerRuntime } from '../../dist/runtime/docker-runtime.js';
import { dockerSpec } from '../lib/direct.mjs';
import { readBody, serveFloor } from './floor-http.mjs';

const [mode, arg, owner] = process.argv.slice(2);

function reply(res, body) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers with `result`, bytes encoded once, around the request's `id`: one write, no copy of them. */
function replyAround(res, id, result) {
  const head = Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': head.length + result.length + CLOSE.length
  });
  res.cork();
  res.write(head);
  res.write(result);
  res.end(CLOSE);
}
const CLOSE = Buffer.from('}');

let handle;
let stop = async () => {};
if (mode === 'list') {
  const tools = JSON.parse(readFileSync(arg, 'utf8'));
  handle = async (req, res) => {
    const { id } = JSON.parse(await readBody(req));
    reply(res, JSON.stringify({ jsonrpc: '2.0', id, result: { tools } }));
  };
} else if (mode === 'list-cached') {
  const result = Buffer.from(`{"tools":${JSON.stringify(JSON.parse(readFileSync(arg, 'utf8')))}}`);
  handle = async (req, res) => {
    const { id } = JSON.parse(await readBody(req));
    replyAround(res, id, result);
  };
} else if (mode === 'list-pages') {
  const tools = JSON.parse(readFileSync(arg, 'utf8'));
  const size = Number(owner);
  const pages = new Map();
  for (let offset = 0; offset < tools.length; offset += size) {
    const next = offset + size < tools.length ? `,"nextCursor":"${offset + size}"` : '';
    pages.set(
      String(offset),
      Buffer.from(`{"tools":${JSON.stringify(tools.slice(offset, offset + size))}${next}}`)
    );
  }
  handle = async (req, res) => {
    const { id, params } = JSON.parse(await readBody(req));
    const page = pages.get(params?.cursor ?? '0');
    if (page === undefined) throw new Error(`no page at cursor ${params?.cursor}`);
    replyAround(res, id, page);
  };
} else if (mode === 'relay') {
  const runtime = new DockerRuntime({ owner, log: createLogger('silent') });
  const server = await runtime.start(dockerSpec(arg), () => {}, new AbortController().signal);
  stop = () => server.stop();
  const pending = new Map();
  let nextId = 1;
  createInterface({ input: server.stdout }).on('line', line => {
    const message = JSON.parse(line);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const send = (method, params) =>
    new Promise(resolve => {
      const id = nextId++;
      pending.set(id, resolve);
      server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  await send('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'http-floor', version: '1.0.0' }
  });
  server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  const SESSION = 'floor-session';
  handle = async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(req.method === 'DELETE' ? 200 : 405).end();
      return;
    }
    const request = JSON.parse(await readBody(req));
    if (request.id === undefined) {
      res.writeHead(202).end(); // a notification
      return;
    }
    if (request.method === 'initialize') {
      res.setHeader('mcp-session-id', SESSION);
      reply(
        res,
        JSON.stringify({
          jsonrpc: '2.0',
          id: request.id,
          result: {
            protocolVersion: '2025-11-25',
            capabilities: { tools: {} },
            serverInfo: { name: 'http-floor', version: '1.0.0' }
          }
        })
      );
      return;
    }
    const params = { ...request.params };
    delete params._meta;
    if (request.method === 'tools/call') params.name = params.name.replace(/^fixture__/, '');
    const answer = await send(request.method, params);
    if (request.method === 'tools/list' && answer.result) {
      answer.result.tools = answer.result.tools.map(tool => ({ ...tool, name: `fixture__${tool.name}` }));
    }
    reply(
      res,
      JSON.stringify({ jsonrpc: '2.0', id: request.id, result: answer.result, error: answer.error })
    );
  };
} else {
  process.stderr.write('usage: http-floor.mjs relay <image> <owner> | list <tools.json>\n');
  process.exit(2);
}

serveFloor(handle, stop);
