import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/gateway-process.js';

/** One way of running the official suite: which release line, with which selection. */
export interface SuiteRun {
  /** Prefix of the run's scenario keys (`<id>/<scenario>`). */
  id: string;
  /** The suite's CLI (an installed devDependency: nothing is fetched at run time). */
  cli: string;
  args: string[];
}

const modules = path.join(ROOT, 'node_modules');

/**
 * The runs the comparison makes: the 0.1.x line's active scenarios (2025-11-25 era), the 0.2.0
 * alpha line's whole suite, and that line's frozen 2026-07-28 requirements (the same scenarios run
 * at that revision's stateless wire version, so a scenario can pass in one run and not another).
 */
export const SUITE_RUNS: SuiteRun[] = [
  {
    id: '0.1',
    cli: path.join(modules, '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
    args: []
  },
  {
    id: 'all',
    cli: path.join(modules, 'conformance-next', 'dist', 'index.js'),
    args: ['--suite', 'all', '--timeout', '15000']
  },
  {
    id: '2026-07-28',
    cli: path.join(modules, 'conformance-next', 'dist', 'index.js'),
    args: ['--requirements', '2026-07-28', '--timeout', '15000']
  }
];

/** What the suite made of one scenario. */
export interface ScenarioResult {
  /** At least one check succeeded and none failed (warnings and skips do not fail a scenario). */
  passed: boolean;
  /** `id: message` of each failed check. */
  failures: string[];
}

/** A check as the suite writes it in a scenario's `checks.json`. */
interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

/**
 * Runs the suite's server scenarios against `url` and reads each scenario's `checks.json` (the
 * suite's exit status says only that something failed). A scenario the suite did not get to
 * (it crashed, or timed out) is absent from the answer, which counts as not passing.
 */
export async function runSuite(
  run: SuiteRun,
  url: URL,
  timeoutMs: number
): Promise<Map<string, ScenarioResult>> {
  const out = mkdtempSync(path.join(tmpdir(), `conformance-${run.id}-`));
  try {
    const output: string[] = [];
    const child = spawn(process.execPath, [run.cli, 'server', '--url', url.href, '-o', out, ...run.args], {
      stdio: ['ignore', 'pipe', 'pipe']
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exit = await new Promise<number | null>(resolve => child.once('close', resolve));
    clearTimeout(timer);
    const results = readResults(out, run.id);
    if (results.size === 0)
      throw new Error(
        `conformance ${run.id} against ${url.href} wrote no results (exit ${exit}):\n${output.join('')}`
      );
    return results;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `server-<scenario>-<ISO time with dashes>` → `<run>/<scenario>`. */
function readResults(dir: string, runId: string): Map<string, ScenarioResult> {
  const results = new Map<string, ScenarioResult>();
  for (const entry of readdirSync(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    if (!scenario) continue;
    let checks: Check[];
    try {
      checks = JSON.parse(readFileSync(path.join(dir, entry, 'checks.json'), 'utf8')) as Check[];
    } catch {
      continue;
    }
    const failures = checks
      .filter(check => check.status === 'FAILURE')
      .map(check => `${check.id}: ${check.errorMessage ?? 'failed'}`);
    const key = `${runId}/${scenario}`;
    const earlier = results.get(key);
    const passed = failures.length === 0 && checks.some(check => check.status === 'SUCCESS');
    results.set(key, {
      passed: passed && (earlier?.passed ?? true),
      failures: [...(earlier?.failures ?? []), ...failures]
    });
  }
  return results;
}
