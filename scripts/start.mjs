// `npm start`: build (tsc, then the dashboard's static files) when dist/ is missing or older than src/, then run the gateway with the
// arguments given (default `serve`, reading ./servers.yaml).
import './check-node.mjs'; // first: it stops an older Node.js before anything else runs
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const newest = dir =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);

const entry = path.join(root, 'dist', 'cli.js');
const page = path.join(root, 'dist', 'http', 'ui', 'static', 'index.html');
if (
  !existsSync(entry) ||
  !existsSync(page) ||
  newest(path.join(root, 'src')) > newest(path.join(root, 'dist'))
) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit'
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
  await import('./copy-ui.mjs');
}
// Run in this process, so signals sent to `npm start` reach the gateway directly.
await import(pathToFileURL(entry).href);
