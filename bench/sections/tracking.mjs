// 6. Tracking: the per-call cost of session and request tracking, on and off. Runs only when the
//    gateway has a switch to turn tracking off — `history: { enabled: false }` in servers.yaml,
//    checked with `mcp-gateway validate` (the config schema refuses keys it does not know) — and
//    says so instead of giving a figure when it does not.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, startFixtureGateway } from '../lib/gateway.mjs';
import { concurrent, interleaved, sequential } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, callEcho } from '../lib/raw-client.mjs';
import { median, round } from '../lib/stats.mjs';

const execFileAsync = promisify(execFile);

/** Records per batch in the store measurement (a busy second's worth, written as the gateway does). */
const STORE_BATCH = 10_000;

/**
 * What the history writes themselves cost, apart from the noise between two gateway processes:
 * the gateway's own ActivityLog (from dist/) on a fresh state directory, batches of
 * {@link STORE_BATCH} finished calls and session heartbeats committed as its timer commits them;
 * CPU µs per record, the median of five batches after one to warm up.
 */
async function storeCost(dir) {
  const { openDatabase } = await import('../../dist/store/database.js');
  const { ActivityLog } = await import('../../dist/store/activity-log.js');
  const db = openDatabase(path.join(dir, 'store-cost'));
  const activity = new ActivityLog(db, { flushIntervalMs: 3_600_000 });
  const session = randomUUID();
  const perRecord = [];
  try {
    for (let batch = 0; batch < 6; batch++) {
      for (let i = 0; i < STORE_BATCH; i++) {
        activity.sessionSeen(session);
        activity.requestFinished({
          sessionId: session,
          clientKey: undefined,
          serverId: 'fixture',
          tool: 'fixture__echo',
          startedAt: Date.now(),
          durationMs: 0.8,
          outcome: 'ok',
          error: undefined,
          bytesIn: 24,
          bytesOut: 64,
          cold: false
        });
      }
      const before = process.cpuUsage();
      activity.flush();
      const used = process.cpuUsage(before);
      if (batch > 0) perRecord.push((used.user + used.system) / STORE_BATCH);
    }
  } finally {
    activity.close();
    db.close();
  }
  return { records: STORE_BATCH * 5, cpuUsPerRecord: round(median(perRecord), 1) };
}

/** The servers.yaml lines that turn tracking off. */
export const TRACKING_OFF = 'history:\n  enabled: false\n';

/** Whether the built gateway accepts the switch. */
async function hasSwitch(dir, image) {
  const file = path.join(dir, 'probe.yaml');
  writeFileSync(file, `${TRACKING_OFF}servers:\n  fixture:\n    image: ${image}\n`);
  try {
    await execFileAsync(process.execPath, [CLI, 'validate', '--config', file]);
    return { supported: true };
  } catch (error) {
    return {
      supported: false,
      reason: String(error.stderr ?? error.message)
        .trim()
        .split('\n')[0]
    };
  }
}

/**
 * Sequential calls to each of `gateways` (mode → gateway), in interleaved rounds; latencies and
 * gateway CPU per call for each.
 */
async function sequentialInterleaved(gateways, counts) {
  const agent = keepAliveAgent(2);
  const paths = {};
  const cpuMs = {};
  for (const [mode, gateway] of Object.entries(gateways)) {
    const session = await LegacySession.open(gateway.url, agent);
    cpuMs[mode] = 0;
    paths[mode] = {
      session,
      call: i => callEcho(session, 'fixture__echo', `c${i}`),
      meter: () => {
        const before = gateway.cpuMs();
        return () => (cpuMs[mode] += gateway.cpuMs() - before);
      }
    };
  }
  const runs = await interleaved(paths, { warmup: counts.warmup, count: counts.calls });
  for (const path of Object.values(paths)) await path.session.close();
  agent.destroy();
  return Object.fromEntries(
    Object.entries(runs).map(([mode, run]) => [
      mode,
      { ...run, gatewayCpuUsPerCall: Math.round((cpuMs[mode] * 1000) / run.calls) }
    ])
  );
}

/** 16 sessions at once, then session opens and closes, on one gateway. */
async function measureOne(gateway, counts) {
  const agent = keepAliveAgent(16);
  const clients = await Promise.all(Array.from({ length: 16 }, () => LegacySession.open(gateway.url, agent)));
  const cpu = gateway.cpuMs();
  const concurrentRun = await concurrent(clients, counts.concurrencySeconds * 1000, (client, i) =>
    callEcho(client, 'fixture__echo', `c${i}`)
  );
  const concurrentCpu = gateway.cpuMs() - cpu;
  await Promise.all(clients.map(client => client.close()));

  // A session's own cost: open (initialize + initialized) and close (DELETE), one after another.
  const sessions = await sequential(counts.sessionOpens, async () => {
    const opened = await LegacySession.open(gateway.url, agent);
    await opened.close();
  });
  agent.destroy();
  return {
    sixteenSessions: {
      callsPerSec: concurrentRun.callsPerSec,
      p99: concurrentRun.p99,
      errors: concurrentRun.errors,
      gatewayCpuUsPerCall: Math.round((concurrentCpu * 1000) / Math.max(1, concurrentRun.calls))
    },
    sessionOpenClose: { p50: sessions.p50, p99: sessions.p99 }
  };
}

export async function tracking({ dir, images, counts, log }) {
  const probe = await hasSwitch(dir, images.fixture);
  if (!probe.supported) {
    return {
      measured: false,
      note: `not measured: the gateway has no switch to turn tracking off yet (\`history: { enabled: false }\` is refused: ${probe.reason})`
    };
  }
  const gateways = {};
  for (const mode of ['off', 'on']) {
    gateways[mode] = await startFixtureGateway(path.join(dir, mode), images.fixture, {
      prefix: mode === 'off' ? TRACKING_OFF : ''
    });
  }
  const runs = { off: {}, on: {} };
  try {
    log('  sequential calls, tracking off and on in turns');
    const sequentialRuns = await sequentialInterleaved(gateways, counts);
    for (const mode of ['off', 'on']) {
      log(`  16 sessions and session opens, tracking ${mode}`);
      runs[mode] = { sequential: sequentialRuns[mode], ...(await measureOne(gateways[mode], counts)) };
    }
  } finally {
    for (const gateway of Object.values(gateways)) await gateway.stop();
  }
  log('  the history writes alone (in process)');
  const store = await storeCost(dir);
  return {
    measured: true,
    runs,
    store,
    cost: {
      cpuUsPerCall: runs.on.sequential.gatewayCpuUsPerCall - runs.off.sequential.gatewayCpuUsPerCall,
      cpuUsPerCallAt16:
        runs.on.sixteenSessions.gatewayCpuUsPerCall - runs.off.sixteenSessions.gatewayCpuUsPerCall,
      p50Ms: round(runs.on.sequential.p50 - runs.off.sequential.p50),
      callsPerSecAt16: runs.on.sixteenSessions.callsPerSec - runs.off.sixteenSessions.callsPerSec,
      sessionOpenCloseP50Ms: round(runs.on.sessionOpenClose.p50 - runs.off.sessionOpenClose.p50)
    }
  };
}
