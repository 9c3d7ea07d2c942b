import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayProcess, waitUntil } from '../support/gateway-process.js';

let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

describe('what libraries write with console.* in the running gateway', () => {
  it('becomes JSON log lines on stderr, and nothing reaches stdout', async () => {
    // A stand-in for a library (the MCP SDK warns with console.warn): it writes when told to.
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-console-'));
    const preload = path.join(dir, 'chatty-library.mjs');
    writeFileSync(
      preload,
      `process.on('SIGUSR2', () => {
        console.log('a library says %s', 'hello');
        console.warn('[mcp-sdk] a warning', { code: 'invalid_grant' });
        console.error(new Error('a library error'));
        console.dir({ written: 'by dir' });
      });\n`
    );
    gateway = await GatewayProcess.start('servers: {}\n', { env: { NODE_OPTIONS: `--import=${preload}` } });
    let stdout = '';
    gateway.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    gateway.child.kill('SIGUSR2');
    await waitUntil(() => gateway!.logs.filter(line => line.source === 'console').length === 4, 10_000);

    const lines = gateway.logs.filter(line => line.source === 'console');
    expect(lines.map(line => [line.level, line.msg?.split('\n')[0]])).toEqual([
      [30, 'a library says hello'],
      [40, "[mcp-sdk] a warning { code: 'invalid_grant' }"],
      [50, 'Error: a library error'],
      [30, "{ written: 'by dir' }"]
    ]);
    // Every stderr line is JSON, and stdout stays empty.
    expect(
      gateway.stderrText.filter(line => line.includes('library')).every(line => line.startsWith('{'))
    ).toBe(true);
    expect(stdout).toBe('');
  });
});
