// Catalogs of local-process servers with many tools each (bench/servers/many-tools.mjs), for the
// sections that list tools. Every start of such a server appends a line to `startsFile`, so the
// bench counts server starts instead of assuming them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './gateway.mjs';

const SERVER = path.join(ROOT, 'bench', 'servers', 'many-tools.mjs');

/**
 * A servers.yaml of `servers` servers (ids s00, s01, …) with `toolsEach` tools each, never stopped
 * when idle; `marker` is on each one's command line, so its processes can be found.
 */
export function manyToolsConfig(servers, toolsEach, startsFile, marker) {
  const lines = ['defaults:', '  idleTimeout: 0', 'servers:'];
  for (let i = 0; i < servers; i++) {
    const id = `s${String(i).padStart(2, '0')}`;
    lines.push(
      `  ${id}:`,
      `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SERVER)}, ${JSON.stringify(marker)}]`,
      `    env: { BENCH_TOOL_COUNT: "${toolsEach}", BENCH_SERVER_ID: "${id}", BENCH_STARTS_FILE: ${JSON.stringify(startsFile)} }`
    );
  }
  return `${lines.join('\n')}\n`;
}

/** How many server starts `startsFile` records. */
export const startsIn = file => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
