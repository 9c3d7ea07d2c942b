// 6. Tracking: the per-call cost of session and request tracking, on and off. Runs only when the
//    gateway has a switch to turn tracking off — `history: { enabled: false }` in servers.yaml,
//    checked with `mcp-gateway validate` (the config schema refuses keys it does not know) — and
//    says so instead of giving a figure when it does not.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, startFixtureGateway } from '../lib/gateway.mjs';
import { concurrent, sequential } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, callEcho } from '../lib/raw-client.mjs';
import { round } from '../lib/stats.mjs';

const execFileAsync = promisify(execFile);

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

async function measureOne(gateway, counts) {
  const agent = keepAliveAgent(16);
  const session = await LegacySession.open(gateway.url, agent);
  for (let i = 0; i < counts.warmup; i++) await callEcho(session, 'fixture__echo', 'warm-up');
  let cpu = gateway.cpuMs();
  const sequentialRun = await sequential(counts.calls, i => callEcho(session, 'fixture__echo', `c${i}`));
  const sequentialCpu = gateway.cpuMs() - cpu;
  await session.close();

  const clients = await Promise.all(Array.from({ length: 16 }, () => LegacySession.open(gateway.url, agent)));
  cpu = gateway.cpuMs();
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
    sequential: {
      ...sequentialRun,
      gatewayCpuUsPerCall: Math.round((sequentialCpu * 1000) / sequentialRun.calls)
    },
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
  const runs = {};
  for (const mode of ['off', 'on']) {
    log(`  tracking ${mode}`);
    const gateway = await startFixtureGateway(path.join(dir, mode), images.fixture, {
      prefix: mode === 'off' ? TRACKING_OFF : ''
    });
    runs[mode] = await measureOne(gateway, counts);
    await gateway.stop();
  }
  return {
    measured: true,
    runs,
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
