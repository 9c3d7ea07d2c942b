#!/usr/bin/env node
// A memory floor: a Node.js process that loads the libraries the gateway is built on (the packages
// `mcp-gateway serve` loads, with no authentication configured) and does nothing else. Its idle RSS
// is what the gateway's stack costs before any of the gateway's own code or data. dockerode is loaded
// as the gateway loads it, and the process idles as the gateway does after start-up: after one
// memory-reducing collection. Prints "ready" on stdout once that is done, then idles until SIGTERM.
import 'node:sqlite';
import '@modelcontextprotocol/client';
import '@modelcontextprotocol/node';
import '@modelcontextprotocol/server';
import 'express';
import 'pino';
import 'prom-client';
import 'yaml';
import 'zod';
import { reduceMemory } from '../../dist/reduce-memory.js';
import { loadDockerode } from '../../dist/runtime/docker-runtime.js';

loadDockerode();
await reduceMemory();

process.stdout.write('ready\n');
const idle = setInterval(() => {}, 60_000);
process.once('SIGTERM', () => clearInterval(idle));
