#!/usr/bin/env node
// A memory floor: a Node.js process that loads the libraries the gateway is built on (the packages
// `mcp-gateway serve` loads, with no authentication configured) and does nothing else. Its idle RSS
// is what the gateway's stack costs before any of the gateway's own code or data. Prints "ready" on
// stdout once everything is loaded, then idles until SIGTERM.
import 'node:sqlite';
import '@modelcontextprotocol/client';
import '@modelcontextprotocol/node';
import '@modelcontextprotocol/server';
import 'dockerode';
import 'express';
import 'pino';
import 'prom-client';
import 'yaml';
import 'zod';

process.stdout.write('ready\n');
const idle = setInterval(() => {}, 60_000);
process.once('SIGTERM', () => clearInterval(idle));
