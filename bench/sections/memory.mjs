// 5. Memory: the gateway's RSS (VmRSS of /proc/<pid>/status) idle, with many open sessions, and
//    across many calls (a leak check). Each reading is taken twice: as it is, and after a forced
//    full garbage collection (through the inspector), with the heap's own count beside it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { onCleanup } from '../lib/cleanup.mjs';
import { ROOT, sleep, startFixtureGateway } from '../lib/gateway.mjs';
import { privateRssBytes, rssBytes } from '../lib/proc.mjs';
import { openInspector } from '../lib/inspector.mjs';
import { fixedCount } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';

/**
 * Heap growth per call above which the leak check fails. A leak of even one small object per call
 * (a map entry, a listener: ~100 bytes) would be several times this.
 */
export const LEAK_BOUND_BYTES_PER_CALL = 32;

/**
 * A `node -e` script that imports `modules` (none: Node.js alone) and then idles as the gateway does
 * after start-up, after one memory-reducing collection (src/reduce-memory.ts); prints "ready" then.
 */
export function restingScript(modules) {
  const reduceMemory = pathToFileURL(path.join(ROOT, 'dist', 'reduce-memory.js')).href;
  return `(async () => {
  for (const name of ${JSON.stringify(modules)}) await import(name);
  await (await import(${JSON.stringify(reduceMemory)})).reduceMemory();
  setInterval(() => {}, 60_000);
  console.log('ready');
})();`;
}

/** The RSS of `node <args>` 2 s after it prints its first line (as the idle gateway is read). */
export async function idleRssOf(args) {
  return (await idleMemoryOf(args)).rss;
}

/** {@link idleRssOf}, with the part of it that is the process's own ({@link privateRssBytes}). */
export async function idleMemoryOf(args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const unregister = onCleanup(() => child.kill('SIGKILL'));
  try {
    await once(child.stdout, 'data');
    await sleep(2_000);
    return { rss: rssBytes(child.pid), private: privateRssBytes(child.pid) };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit').catch(() => undefined);
    unregister();
  }
}

async function reading(gateway, inspector) {
  await sleep(2_000); // as an operator would look: after the work, nothing forced (as abuse.mjs reads)
  const rss = gateway.rss();
  await inspector.collectGarbage();
  await sleep(200);
  const memory = await inspector.memoryUsage();
  return { rss, rssAfterGc: gateway.rss(), heapUsedAfterGc: memory.heapUsed };
}

/** Runs `count` calls from `sessions` legacy sessions and `sessions` 2026-era clients. */
async function calls(gateway, agent, sessions, count) {
  const clients = [
    ...(await Promise.all(Array.from({ length: sessions }, () => LegacySession.open(gateway.url, agent)))),
    ...Array.from({ length: sessions }, () => new ModernClient(gateway.url, agent))
  ];
  const result = await fixedCount(clients, count, (client, i) => callEcho(client, 'fixture__echo', `c${i}`));
  await Promise.all(clients.map(client => client.close()));
  return result;
}

export async function memory({ dir, images, counts, log }) {
  // Idle RSS as an operator sees it: a plain gateway, nothing forced.
  const plain = await startFixtureGateway(path.join(dir, 'plain'), images.fixture);
  await sleep(2_000);
  const idlePlainRss = plain.rss();
  const idlePlainPrivate = privateRssBytes(plain.pid);
  await plain.stop();

  // Its floors, read the same way: Node.js alone, and Node.js with the gateway's libraries loaded,
  // each after the memory-reducing collection the gateway makes once started.
  const bareNode = await idleMemoryOf(['-e', restingScript([])]);
  const libraries = await idleMemoryOf([path.join(ROOT, 'bench', 'servers', 'import-floor.mjs')]);
  const floors = {
    bareNodeRss: bareNode.rss,
    bareNodePrivate: bareNode.private,
    librariesRss: libraries.rss,
    librariesPrivate: libraries.private
  };

  // The rest on a gateway with the inspector open, to force collections before readings.
  const gateway = await startFixtureGateway(path.join(dir, 'inspected'), images.fixture, { inspect: true });
  const inspector = await openInspector(gateway.inspectorUrl);
  try {
    const idle = await reading(gateway, inspector);

    log(`  opening ${counts.sessions} sessions`);
    const agent = keepAliveAgent(16);
    const open = [];
    // The curve of memory against open sessions: RSS (nothing forced) at each checkpoint.
    const checkpoints = [10, 50, 100, 250, 500, 1_000, 2_000].filter(count => count <= counts.sessions);
    const curve = [{ sessions: 0, rss: gateway.rss() }];
    while (open.length < counts.sessions) {
      const next = checkpoints.find(count => count > open.length) ?? counts.sessions;
      const batch = Math.min(16, next - open.length);
      open.push(
        ...(await Promise.all(Array.from({ length: batch }, () => LegacySession.open(gateway.url, agent))))
      );
      if (open.length === next) curve.push({ sessions: next, rss: gateway.rss() });
    }
    const health = await gateway.health();
    const withSessions = await reading(gateway, inspector);
    await Promise.all(open.map(session => session.close()));
    const afterClose = await reading(gateway, inspector);

    const warmupCalls = Math.round(counts.leakCalls / 10);
    log(`  leak check: ${warmupCalls} calls, then ${counts.leakCalls - warmupCalls} more`);
    const warm = await calls(gateway, agent, 8, warmupCalls);
    const before = await reading(gateway, inspector);
    const rest = await calls(gateway, agent, 8, counts.leakCalls - warmupCalls);
    const after = await reading(gateway, inspector);
    agent.destroy();

    const perSession = key => Math.round((withSessions[key] - idle[key]) / counts.sessions);
    const measuredCalls = counts.leakCalls - warmupCalls;
    const heapGrowthPerCall = (after.heapUsedAfterGc - before.heapUsedAfterGc) / measuredCalls;
    return {
      idlePlainRss,
      idlePlainPrivate,
      floors,
      idle,
      sessions: {
        open: counts.sessions,
        reportedByGateway: health.sessions,
        reading: withSessions,
        bytesPerSession: {
          rss: perSession('rss'),
          rssAfterGc: perSession('rssAfterGc'),
          heapUsedAfterGc: perSession('heapUsedAfterGc')
        },
        afterClosingAll: afterClose,
        curve
      },
      leak: {
        calls: counts.leakCalls,
        errors: warm.errors + rest.errors,
        callsPerSec: Math.round(measuredCalls / rest.seconds),
        before,
        after,
        heapGrowthBytes: after.heapUsedAfterGc - before.heapUsedAfterGc,
        rssGrowthBytes: after.rssAfterGc - before.rssAfterGc,
        heapGrowthBytesPerCall: Math.round(heapGrowthPerCall * 10) / 10,
        boundBytesPerCall: LEAK_BOUND_BYTES_PER_CALL,
        leakFree: heapGrowthPerCall <= LEAK_BOUND_BYTES_PER_CALL
      }
    };
  } finally {
    inspector.close();
    await gateway.stop();
  }
}
