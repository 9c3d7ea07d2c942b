// The sections in order, each on its own gateway(s), and what the run leaves behind checked.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureFixtureImages } from '../../test/support/docker-images.ts';
import { DockerRuntime } from '../../dist/runtime/docker-runtime.js';
import { abuse } from '../sections/abuse.mjs';
import { atRest } from '../sections/at-rest.mjs';
import { catalog } from '../sections/catalog.mjs';
import { idleStop } from '../sections/idle-stop.mjs';
import { listCurve } from '../sections/list-curve.mjs';
import { coldStart } from '../sections/cold.mjs';
import { coldCurve } from '../sections/cold-curve.mjs';
import { concurrency } from '../sections/concurrency.mjs';
import { memory } from '../sections/memory.mjs';
import { profile } from '../sections/profile.mjs';
import { remoteCalls } from '../sections/remote.mjs';
import { toolSearch } from '../sections/tool-search.mjs';
import { tracking } from '../sections/tracking.mjs';
import { warmCalls } from '../sections/warm.mjs';
import { runCleanups, sweepContainers } from './cleanup.mjs';
import { removeAllBenchContainers } from './direct.mjs';
import { probeBenchSettings } from './gateway.mjs';
import { describeMachine } from './machine.mjs';
import { machineBusy } from './proc.mjs';
import { checkTargets, renderMarkdown } from './report.mjs';

const SECTIONS = [
  ['warm', '1. warm calls', warmCalls],
  ['concurrency', '2. concurrency', concurrency],
  ['cold', '3. cold start', coldStart],
  ['catalog', '4. catalog', catalog],
  ['listcurve', 'tools/list against catalog size', listCurve],
  ['coldcurve', 'cold starts at once', coldCurve],
  ['memory', '5. memory', memory],
  ['abuse', 'memory under abuse', abuse],
  ['rest', 'at rest: each mode, each library', atRest],
  ['idlestop', 'idle to stopped', idleStop],
  ['tracking', '6. tracking', tracking],
  ['remote', '7. a remote server', remoteCalls],
  ['search', '8. tool search', toolSearch],
  ['profile', 'profile of the hot path', profile]
];

export async function runBench({ docker, counts, quick, only, work, log }) {
  const began = performance.now();
  log('fixture images');
  const images = await ensureFixtureImages();
  log('machine');
  const machine = await describeMachine(docker);
  const attachOwner = DockerRuntime.ownerFor(path.join(work, 'attach-baseline'));
  const raisedLimits = probeBenchSettings(work);

  const sections = {};
  for (const [name, title, run] of SECTIONS) {
    if (only && !only.includes(name)) continue;
    log(title);
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    const started = performance.now();
    try {
      sections[name] = await run({ dir, images, owner: attachOwner, counts, docker, log });
    } catch (error) {
      sections[name] = { error: error instanceof Error ? error.message : String(error) };
      log(`  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await runCleanups(); // whatever a failed section left running
    }
    log(`  ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const containersLeft = await sweepContainers(docker);
  const benchContainersLeft = await removeAllBenchContainers();
  // Everything of ours has stopped: what is busy now is other people's work.
  const busyAfter = await machineBusy(2_000);
  const results = {
    quick,
    counts,
    machine,
    busyAfterPercent: Math.round(busyAfter * 1000) / 10,
    durationSeconds: Math.round((performance.now() - began) / 1000),
    raisedLimits: raisedLimits || undefined,
    sections,
    cleanup: { containersLeft, benchContainersLeft }
  };
  results.targets = checkTargets(results);
  return { results, markdown: renderMarkdown(results) };
}
