#!/usr/bin/env node
// A stdio MCP server that lists the tools of a JSON file (argv[2]: an array of tool definitions, as
// a real server publishes them) and answers any call with its name, for the tool-search section.
// Every start appends this process's pid to BENCH_STARTS_FILE: the bench counts the lines to prove
// that searching started no server.
import { appendFileSync, readFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

const tools = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const id = process.env.BENCH_SERVER_ID ?? 'server';
if (process.env.BENCH_STARTS_FILE) appendFileSync(process.env.BENCH_STARTS_FILE, `${id} ${process.pid}\n`);

serveStdio(() => {
  const server = new Server({ name: `bench-${id}`, version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({ tools }));
  server.setRequestHandler('tools/call', request => ({
    content: [{ type: 'text', text: `${id} ran ${request.params.name}` }]
  }));
  return server;
});
