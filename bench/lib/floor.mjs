// Starts a floor server as a child process: bench/servers/http-floor.mjs (the least a Node.js HTTP
// front can do) or sdk-floor.mjs (the least a gateway on the official MCP SDK can do).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { onCleanup } from './cleanup.mjs';
import { ROOT } from './gateway.mjs';

/** Starts the floor server `script` (in bench/servers) with `args`; resolves once it listens, with its URL and pid. */
export async function startFloor(args, script = 'http-floor.mjs') {
  const file = path.join(ROOT, 'bench', 'servers', script);
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise(resolve => child.once('exit', resolve));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', chunk => (stderr = (stderr + chunk).slice(-5_000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const unregister = onCleanup(stop);
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', chunk => {
      out += chunk;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    void exited.then(code => reject(new Error(`the floor server exited (${code}): ${stderr}`)));
  });
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    pid: child.pid,
    async stop() {
      await stop();
      unregister();
    }
  };
}
