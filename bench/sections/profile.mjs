// The hot path, profiled: the gateway under node --cpu-prof while a client makes warm calls (the
// SDK and the minimal client in a 2025-era session, and the minimal client in the 2026 era, whose
// calls take the gateway's own hot path), summarized by lib/profile.mjs.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startFixtureGateway } from '../lib/gateway.mjs';
import { contextSwitches } from '../lib/proc.mjs';
import { monotonicUs, summarizeProfile } from '../lib/profile.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';
import { connectSdk, sdkEcho } from '../lib/sdk-client.mjs';

/** Sampling interval in µs (node's default is 1000): finer, for calls that take about a millisecond. */
const INTERVAL_US = 200;
const DESCRIPTIONS = {
  sdk: 'SDK client, 2025-11-25 session',
  raw: 'minimal HTTP client, 2025-11-25 session',
  modern: 'minimal HTTP client, 2026-07-28 (the hot path)'
};

export async function profile({ dir, images, counts, log }) {
  const results = {};
  for (const client of ['sdk', 'raw', 'modern']) {
    log(`  ${counts.profileCalls} calls from the ${DESCRIPTIONS[client]}`);
    const profileDir = path.join(dir, client);
    const gateway = await startFixtureGateway(profileDir, images.fixture, {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${INTERVAL_US}`]
    });
    const agent = keepAliveAgent(1);
    const caller =
      client === 'sdk'
        ? await connectSdk(gateway.url, 'legacy')
        : client === 'raw'
          ? await LegacySession.open(gateway.url, agent)
          : new ModernClient(gateway.url, agent);
    const call = text =>
      client === 'sdk' ? sdkEcho(caller, 'fixture__echo', text) : callEcho(caller, 'fixture__echo', text);
    for (let i = 0; i < counts.warmup; i++) await call(`warm-up ${i}`);
    const switchesBefore = contextSwitches(gateway.pid);
    const cpuBefore = gateway.cpuMs();
    const span = { fromUs: monotonicUs() };
    for (let i = 0; i < counts.profileCalls; i++) await call(`call ${i}`);
    span.toUs = monotonicUs();
    const cpuUsPerCall = Math.round(((gateway.cpuMs() - cpuBefore) * 1000) / counts.profileCalls);
    const switchesAfter = contextSwitches(gateway.pid);
    const perCall = key =>
      Math.round(((switchesAfter[key] - switchesBefore[key]) / counts.profileCalls) * 100) / 100;
    await caller.close();
    agent.destroy();
    await gateway.stop();
    const file = readdirSync(profileDir).find(name => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`the gateway wrote no profile in ${profileDir}`);
    results[client] = {
      ...summarizeProfile(path.join(profileDir, file), counts.profileCalls, span),
      cpuUsPerCall,
      contextSwitchesPerCall: { voluntary: perCall('voluntary'), involuntary: perCall('involuntary') }
    };
  }
  return { intervalUs: INTERVAL_US, ...results };
}
