// At rest: what each configuration costs idle (a gateway per auth mode, with and without a Docker
// server, RSS 2 s after its startup discovery, nothing forced), and what each library costs on its
// own (`node -e "import(lib)"` beside Node.js alone, each after the memory-reducing collection the
// gateway makes once started).
import path from 'node:path';
import { GatewayChild, sleep } from '../lib/gateway.mjs';
import { idleRssOf, restingScript } from './memory.mjs';

const MODES = {
  none: '',
  token: 'gateway:\n  auth: { mode: token }\n',
  oauth: 'gateway:\n  publicUrl: http://127.0.0.1:9\n  auth: { mode: oauth }\n',
  oidc: 'gateway:\n  publicUrl: https://gateway.example\n  auth: { mode: oidc, oidc: { issuer: https://issuer.example } }\n'
};

/** The packages a gateway may load, each measured alone. */
export const LIBRARIES = [
  '@modelcontextprotocol/server',
  '@modelcontextprotocol/node',
  '@modelcontextprotocol/client',
  '@modelcontextprotocol/server-legacy/sse',
  'express',
  'zod',
  'pino',
  'prom-client',
  'yaml',
  'dockerode',
  'undici',
  'oidc-provider',
  'jose'
];

export async function atRest({ dir, images, log }) {
  const modes = [];
  for (const [mode, prefix] of Object.entries(MODES)) {
    for (const docker of [false, true]) {
      const server = docker
        ? `  fixture:\n    image: ${images.fixture}\n`
        : `  fixture:\n    command: ["${process.execPath}", "-e", "setInterval(() => {}, 60000)"]\n`;
      const gatewayDir = path.join(dir, `${mode}-${docker ? 'docker' : 'local'}`);
      const config = `${prefix}defaults:\n  idleTimeout: 0\nservers:\n${server}`;
      log(`  ${mode}, ${docker ? 'a Docker server' : 'a local server'}`);
      try {
        const gateway = await GatewayChild.start({
          dir: gatewayDir,
          config,
          raisedLimits: false
        });
        try {
          await gateway.discovered().catch(() => undefined);
          await sleep(2_000);
          modes.push({ mode, docker, rss: gateway.rss() });
        } finally {
          await gateway.stop();
        }
      } catch (error) {
        modes.push({ mode, docker, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  const libraries = [{ name: 'Node.js alone', rss: await idleRssOf(['-e', restingScript([])]) }];
  for (const name of LIBRARIES) libraries.push({ name, rss: await idleRssOf(['-e', restingScript([name])]) });
  return { modes, libraries };
}
