// The official MCP conformance suite, run against our fixture server twice: directly over HTTP,
// and through the real gateway daemon with the same server as a local stdio process
// (`namespace: ""`, so names match). A ratchet on the comparison, kept true in both directions by
// the lists in expected.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess, ROOT } from '../support/gateway-process.js';
import { KNOWN_GAPS, PASSING_THROUGH, UNSTABLE } from './expected.js';
import { runSuite, SUITE_RUNS, type ScenarioResult } from './suite-runs.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'conformance-server.mjs');
/** A whole run of the suite (30 to 65 scenarios) against one target. */
const RUN_TIMEOUT_MS = 120_000;

let fixture: ChildProcess | undefined;
let gateway: GatewayProcess | undefined;
const direct = new Map<string, ScenarioResult>();
const through = new Map<string, ScenarioResult>();

const passes = (results: Map<string, ScenarioResult>, key: string) => results.get(key)?.passed === true;
const why = (results: Map<string, ScenarioResult>, key: string) =>
  `${key}: ${results.get(key)?.failures.join('; ') || 'not run, or no check succeeded'}`;

/** Starts the fixture over HTTP and resolves with the URL it prints. */
function startFixture(): Promise<URL> {
  const child = spawn(process.execPath, [FIXTURE, '--http', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  fixture = child;
  return new Promise((resolve, reject) => {
    child.once('exit', code =>
      reject(new Error(`the conformance fixture exited (${code}) before listening`))
    );
    child.stdout.setEncoding('utf8');
    let pending = '';
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const line = pending.split('\n')[0];
      if (pending.includes('\n') && line) resolve(new URL(line));
    });
  });
}

beforeAll(
  async () => {
    const [directUrl] = await Promise.all([
      startFixture(),
      GatewayProcess.start(
        `servers:
  conformance:
    description: The conformance suite's fixtures
    command: ["${process.execPath}", "${FIXTURE}"]
    namespace: ""
`
      ).then(started => (gateway = started))
    ]);
    await gateway!.discovered();
    // Each run against both targets at once: the two do not share anything, and the whole
    // comparison stays well inside a minute on a 2-core machine.
    for (const run of SUITE_RUNS) {
      const [alone, behind] = await Promise.all([
        runSuite(run, directUrl, RUN_TIMEOUT_MS),
        runSuite(run, gateway!.url, RUN_TIMEOUT_MS)
      ]);
      for (const [key, result] of alone) direct.set(key, result);
      for (const [key, result] of behind) through.set(key, result);
      const passingDirectly = [...alone.keys()].filter(key => passes(alone, key));
      const passingThrough = passingDirectly.filter(key => passes(behind, key));
      console.info(
        `conformance ${run.id}: ${passingThrough.length} of the ${passingDirectly.length} scenarios that pass directly pass through the gateway (${alone.size} run)`
      );
    }
  },
  // The runs follow one another; the gateway's start and discovery take a few seconds.
  SUITE_RUNS.length * RUN_TIMEOUT_MS + 60_000
);

afterAll(async () => {
  fixture?.kill('SIGTERM');
  await gateway?.dispose();
});

describe('the conformance suite through the gateway', () => {
  it('passes every scenario listed as passing through', () => {
    const failing = PASSING_THROUGH.filter(key => !passes(through, key));
    expect(failing.map(key => why(through, key))).toEqual([]);
  });

  it('passes through every scenario that passes directly, except the known gaps', () => {
    const unexplained = [...direct.keys()].filter(
      key => passes(direct, key) && !passes(through, key) && !(key in KNOWN_GAPS) && !(key in UNSTABLE)
    );
    expect(
      unexplained.map(key => why(through, key)),
      'passes directly but not through the gateway: fix it, or list it in KNOWN_GAPS with the reason'
    ).toEqual([]);
  });

  it('lists no gap that passes through (update the list)', () => {
    const closed = Object.keys(KNOWN_GAPS).filter(key => passes(through, key));
    expect(closed, 'these pass through now: update the list (move them to PASSING_THROUGH)').toEqual([]);
  });

  it('lists every scenario that passes through (update the list)', () => {
    const unlisted = [...through.keys()].filter(
      key =>
        passes(direct, key) && passes(through, key) && !PASSING_THROUGH.includes(key) && !(key in UNSTABLE)
    );
    expect(unlisted, 'these pass through now: update the list (add them to PASSING_THROUGH)').toEqual([]);
  });

  it('lists only scenarios that pass directly (the fixture serves every one)', () => {
    const listed = [...PASSING_THROUGH, ...Object.keys(KNOWN_GAPS), ...Object.keys(UNSTABLE)];
    expect(listed.filter(key => !passes(direct, key)).map(key => why(direct, key))).toEqual([]);
  });
});
