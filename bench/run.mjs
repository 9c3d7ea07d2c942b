// `npm run bench`: measures what the gateway costs over talking to a server directly, each figure
// beside its baseline from the same run, and writes bench/results/latest.{json,md}.
//
//   BENCH_QUICK=1        reduced counts (a minute or two), results in a temporary directory
//   BENCH_ONLY=warm,cold run only these sections (warm, concurrency, cold, catalog, listcurve,
//                        coldcurve, memory, abuse, rest, idlestop, tracking, remote, profile,
//                        search)
//
// Needs a Docker engine; builds the gateway (dist/) when src/ is newer, and the fixture images
// when they are missing. Everything it starts (gateways, containers, processes) is stopped and
// removed before it exits, also on failure and Ctrl-C. Traffic goes to 127.0.0.1 only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

const ROOT = path.resolve(import.meta.dirname, '..');
const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY?.split(',').map(name => name.trim());

const COUNTS = quick
  ? {
      warmup: 50,
      calls: 300,
      concurrencySeconds: 1.5,
      coldSamples: 2,
      listWarmup: 5,
      lists: 30,
      sessions: 200,
      leakCalls: 10_000,
      sessionOpens: 30,
      profileCalls: 500,
      hostile: 10_000
    }
  : {
      warmup: 1_000,
      calls: 2_000,
      concurrencySeconds: 5,
      coldSamples: 7,
      listWarmup: 100,
      lists: 200,
      sessions: 2_000,
      leakCalls: 100_000,
      sessionOpens: 200,
      profileCalls: 5_000,
      hostile: 10_000
    };

const log = message => process.stderr.write(`${message}\n`);

/** Builds dist/ when it is missing or older than src/ (as `npm start` does). */
function buildIfStale() {
  const newest = dir =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const dist = path.join(ROOT, 'dist');
  if (existsSync(path.join(dist, 'cli.js')) && newest(path.join(ROOT, 'src')) <= newest(dist)) return;
  log('building the gateway (dist/ is older than src/)');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit'
  });
  if (built.status !== 0) throw new Error('the build failed; fix it or run `npm run build` to see why');
}

async function main() {
  buildIfStale();
  // Imported after the build: these load dist/.
  const { runCleanups } = await import('./lib/cleanup.mjs');
  const { runBench } = await import('./lib/bench.mjs');
  let interrupted = false;
  const onSignal = signal => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const docker = new Docker();
  await docker.ping().catch(error => {
    throw new Error(`the bench needs a Docker engine, and none answers: ${error.message}`);
  });
  const outDir = quick
    ? path.join(os.tmpdir(), 'mcp-gateway-bench-results')
    : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'mcp-gateway-bench-'));
  try {
    const { results, markdown } = await runBench({ docker, counts: COUNTS, quick, only, work, log });
    const base = quick ? 'quick' : 'latest';
    writeFileSync(path.join(outDir, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(outDir, `${base}.md`), markdown);
    const { writeCharts } = await import('./lib/charts.mjs');
    writeCharts(results, outDir);
    process.stdout.write(`${markdown}\n`);
    log(`results: ${path.join(outDir, `${base}.json`)} and ${base}.md`);
    return Object.values(results.sections).some(section => section?.error) ? 1 : 0;
  } finally {
    await runCleanups();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  code => {
    process.exitCode = code;
  },
  error => {
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
);
