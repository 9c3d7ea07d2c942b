// 1. Warm calls: sequential tools/call of the fixture's echo tool, straight to the container and
//    through the gateway, on the same image, in the same run.
import { containerPid, cpuBudget } from '../lib/cpu-budget.mjs';
import { BENCH_LABEL, connectAttach, connectDockerRun } from '../lib/direct.mjs';
import { startFloor } from '../lib/floor.mjs';
import { startFixtureGateway } from '../lib/gateway.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';
import { connectSdk, sdkEcho } from '../lib/sdk-client.mjs';
import { interleaved } from '../lib/load.mjs';
import { round } from '../lib/stats.mjs';
import { trackOwner } from '../lib/cleanup.mjs';

/**
 * Measures every path (`{ key, call, frontPid, label, relayPids }`) in interleaved rounds, with
 * the CPU each process spent per call: `frontPid` is the HTTP front (the gateway, or a floor
 * relay), `label` finds the server's container, `relayPids` are more processes relaying its stdio.
 * Returns the runs by key.
 */
async function measurePaths(paths, { counts, docker, log }) {
  const cpuUs = new Map(paths.map(path => [path.key, {}]));
  const metered = {};
  for (const path of paths) {
    const serverPid = await containerPid(docker, path.label);
    metered[path.key] = {
      call: path.call,
      meter: () => {
        const budget = cpuBudget({ gatewayPid: path.frontPid, serverPid, relayPids: path.relayPids });
        return calls => {
          const sums = cpuUs.get(path.key);
          for (const [key, us] of Object.entries(budget(calls))) sums[key] = (sums[key] ?? 0) + us * calls;
        };
      }
    };
  }
  const runs = await interleaved(metered, { warmup: counts.warmup, count: counts.calls, log });
  for (const path of paths) {
    const run = runs[path.key];
    const cpuUsPerCall = Object.fromEntries(
      Object.entries(cpuUs.get(path.key)).map(([key, us]) => [key, Math.round(us / run.calls)])
    );
    runs[path.key] = {
      ...run,
      cpuUsPerCall,
      ...(path.frontPid ? { gatewayCpuUsPerCall: cpuUsPerCall.gateway } : {})
    };
  }
  return runs;
}

const ownerLabel = owner => `io.mcp-gateway.owner=${owner}`;

export async function warmCalls({ dir, images, owner, counts, docker, log }) {
  const tool = 'fixture__echo';
  const closers = [];
  try {
    log('  starting every path: direct (attach, docker run), the gateway, the two floors');
    // A profile of the one server, for the 2026-era call through `/mcp/<profile>` (the hot path too).
    const gateway = await startFixtureGateway(dir, images.fixture, {
      prefix: 'profiles:\n  bench:\n    servers: [fixture]\n'
    });
    closers.push(() => gateway.stop());
    // The server is started (and its era learned) before anything is timed.
    const warmer = await connectSdk(gateway.url, 'legacy');
    await sdkEcho(warmer, tool, 'start');
    await warmer.close();

    const attach = await connectAttach(images.fixture, owner);
    closers.push(() => attach.close());
    const prior = attach.prior();
    await attach.client.listTools();
    const dockerRun = await connectDockerRun(images.fixture, prior);
    closers.push(() => dockerRun.close());
    await dockerRun.client.listTools();

    // Each floor runs its container under an owner of its own, so every path finds its own server.
    const relayOwner = `${owner}-relay`;
    const sdkOwner = `${owner}-sdk`;
    trackOwner(relayOwner);
    trackOwner(sdkOwner);
    const floor = await startFloor(['relay', images.fixture, relayOwner]);
    closers.push(() => floor.stop());
    // The SDK floor: the SDK's own HTTP transports, server and client relaying to the container, and
    // nothing of the gateway's. What it adds is what any gateway on the official SDK must add.
    const sdkFloor = await startFloor(['relay', images.fixture, sdkOwner], 'sdk-floor.mjs');
    closers.push(() => sdkFloor.stop());

    const agent = keepAliveAgent(1);
    closers.push(() => agent.destroy());
    const sdkClient = async (url, era) => {
      const client = await connectSdk(url, era);
      closers.push(() => client.close());
      await client.listTools();
      return client;
    };
    const session = async url => {
      const opened = await LegacySession.open(url, agent);
      closers.push(() => opened.close());
      return opened;
    };
    const through = { frontPid: gateway.pid, label: ownerLabel(gateway.owner) };
    const relay = { frontPid: floor.pid, label: ownerLabel(relayOwner) };
    const sdkRelay = { frontPid: sdkFloor.pid, label: ownerLabel(sdkOwner) };
    const sdkEchoOf = client => i => sdkEcho(client, tool, `call ${i}`);
    const rawEchoOf = client => i => callEcho(client, tool, `call ${i}`);
    const paths = [
      { key: 'attach', label: ownerLabel(owner), call: i => sdkEcho(attach.client, 'echo', `call ${i}`) },
      {
        key: 'dockerRun',
        label: `${BENCH_LABEL}=true`,
        relayPids: [dockerRun.cliPid],
        call: i => sdkEcho(dockerRun.client, 'echo', `call ${i}`)
      },
      { key: 'gatewaySdk_legacy', ...through, call: sdkEchoOf(await sdkClient(gateway.url, 'legacy')) },
      { key: 'gatewaySdk_modern', ...through, call: sdkEchoOf(await sdkClient(gateway.url, 'modern')) },
      { key: 'gatewayRaw_legacy', ...through, call: rawEchoOf(await session(gateway.url)) },
      { key: 'gatewayRaw_modern', ...through, call: rawEchoOf(new ModernClient(gateway.url, agent)) },
      {
        key: 'gatewayRaw_modern_profile',
        ...through,
        call: rawEchoOf(new ModernClient(new URL(`${gateway.url.href}/bench`), agent))
      },
      { key: 'floorRelaySdk', ...relay, call: sdkEchoOf(await sdkClient(floor.url, 'legacy')) },
      { key: 'floorRelay', ...relay, call: rawEchoOf(new ModernClient(floor.url, agent)) },
      {
        key: 'floorSdkStackSdk_legacy',
        ...sdkRelay,
        call: sdkEchoOf(await sdkClient(sdkFloor.url, 'legacy'))
      },
      {
        key: 'floorSdkStackSdk_modern',
        ...sdkRelay,
        call: sdkEchoOf(await sdkClient(sdkFloor.url, 'modern'))
      },
      { key: 'floorSdkStackRaw_legacy', ...sdkRelay, call: rawEchoOf(await session(sdkFloor.url)) },
      { key: 'floorSdkStackRaw_modern', ...sdkRelay, call: rawEchoOf(new ModernClient(sdkFloor.url, agent)) }
    ];
    const runs = await measurePaths(paths, { counts, docker, log });
    return result(prior.kind, runs);
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // already closed, or gone with its process: the final sweep removes any container left
      }
    }
  }
}

function result(era, runs) {
  const versus = (gatewayRun, baseline) => ({
    addedP50Ms: round(gatewayRun.p50 - baseline.p50),
    addedP99Ms: round(gatewayRun.p99 - baseline.p99),
    ratio: round(gatewayRun.callsPerSec / baseline.callsPerSec, 2)
  });
  return {
    era,
    runs,
    comparison: {
      sdkLegacyVsDockerRun: versus(runs.gatewaySdk_legacy, runs.dockerRun),
      sdkLegacyVsAttach: versus(runs.gatewaySdk_legacy, runs.attach),
      sdkModernVsDockerRun: versus(runs.gatewaySdk_modern, runs.dockerRun),
      sdkModernVsAttach: versus(runs.gatewaySdk_modern, runs.attach),
      floorSdkVsDockerRun: versus(runs.floorRelaySdk, runs.dockerRun),
      floorSdkVsAttach: versus(runs.floorRelaySdk, runs.attach),
      sdkStackLegacyVsDockerRun: versus(runs.floorSdkStackSdk_legacy, runs.dockerRun),
      sdkStackModernVsDockerRun: versus(runs.floorSdkStackSdk_modern, runs.dockerRun),
      rawLegacyVsDockerRun: versus(runs.gatewayRaw_legacy, runs.dockerRun),
      rawModernVsDockerRun: versus(runs.gatewayRaw_modern, runs.dockerRun),
      sdkStackRawLegacyVsDockerRun: versus(runs.floorSdkStackRaw_legacy, runs.dockerRun),
      sdkStackRawModernVsDockerRun: versus(runs.floorSdkStackRaw_modern, runs.dockerRun),
      floorRawVsDockerRun: versus(runs.floorRelay, runs.dockerRun)
    }
  };
}
