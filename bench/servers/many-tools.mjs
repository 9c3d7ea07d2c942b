#!/usr/bin/env node
// A stdio MCP server with BENCH_TOOL_COUNT tools of realistic size (a description, three typed
// parameters), for the catalog section. Every start appends this process's pid to
// BENCH_STARTS_FILE: the bench counts the lines to prove that listing tools started nothing.
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod/v4';

const count = Number(process.env.BENCH_TOOL_COUNT ?? 20);
const id = process.env.BENCH_SERVER_ID ?? 'server';
if (process.env.BENCH_STARTS_FILE) appendFileSync(process.env.BENCH_STARTS_FILE, `${id} ${process.pid}\n`);

serveStdio(() => {
  const server = new McpServer({ name: `bench-${id}`, version: '1.0.0' });
  for (let i = 0; i < count; i++) {
    server.registerTool(
      `tool_${String(i).padStart(2, '0')}`,
      {
        description: `Looks up records of kind ${i} in the ${id} service and returns the matching ones, newest first.`,
        inputSchema: z.object({
          query: z.string().describe('What to look for'),
          limit: z.number().int().min(1).max(100).optional().describe('At most this many records'),
          includeArchived: z.boolean().optional().describe('Also search archived records')
        }),
        annotations: { readOnlyHint: true }
      },
      async ({ query }) => ({ content: [{ type: 'text', text: `${id}/${i}: ${query}` }] })
    );
  }
  return server;
});
