// 1. Warm calls: sequential tools/call of the fixture's echo tool, straight to the container and
//    through the gateway, on the same image, in the same run.
import { containerPid, cpuBudget } from '../lib/cpu-budget.mjs';
import { BENCH_LABEL, connectAttach, connectDockerRun } from '../lib/direct.mjs';
import { startFloor } from '../lib/floor.mjs';
import { startFixtureGateway } from '../lib/gateway.mjs';
import { sequential } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';
import { connectSdk, sdkEcho } from '../lib/sdk-client.mjs';
import { round } from '../lib/stats.mjs';

/**
 * Warm-up calls (JIT, sockets, the server's own warm-up), then the measured ones, with the CPU each
 * process spent per measured call. `frontPid` is the HTTP front (the gateway, or the floor relay),
 * `label` finds the server's container, `relayPids` are more processes relaying its stdio.
 */
async function measure({ counts, docker, frontPid, relayPids }, label, call) {
  for (let i = 0; i < counts.warmup; i++) await call(`warm-up ${i}`);
  const serverPid = await containerPid(docker, label);
  const budget = cpuBudget({ gatewayPid: frontPid, serverPid, relayPids });
  const result = await sequential(counts.calls, i => call(`call ${i}`));
  const cpuUsPerCall = budget(counts.calls);
  return { ...result, cpuUsPerCall, ...(frontPid ? { gatewayCpuUsPerCall: cpuUsPerCall.gateway } : {}) };
}

export async function warmCalls({ dir, images, owner, counts, docker, log }) {
  const tool = 'fixture__echo';
  const gateway = await startFixtureGateway(dir, images.fixture);
  const direct = { counts, docker };
  const through = { counts, docker, frontPid: gateway.pid };
  const gatewayLabel = `io.mcp-gateway.owner=${gateway.owner}`;
  // The server is started (and its era learned) before anything is timed.
  const warmer = await connectSdk(gateway.url, 'legacy');
  await sdkEcho(warmer, tool, 'start');
  await warmer.close();

  const runs = {};

  log('  direct: SDK client over the gateway runtime (dockerode attach)');
  const attach = await connectAttach(images.fixture, owner);
  const prior = attach.prior();
  await attach.client.listTools();
  runs.attach = await measure(direct, `io.mcp-gateway.owner=${owner}`, text =>
    sdkEcho(attach.client, 'echo', text)
  );
  await attach.close();

  log('  direct: SDK client over `docker run -i`');
  const dockerRun = await connectDockerRun(images.fixture, prior);
  await dockerRun.client.listTools();
  runs.dockerRun = await measure({ ...direct, relayPids: [dockerRun.cliPid] }, `${BENCH_LABEL}=true`, text =>
    sdkEcho(dockerRun.client, 'echo', text)
  );
  await dockerRun.close();

  for (const era of ['legacy', 'modern']) {
    log(`  gateway: SDK client, ${era} era`);
    const client = await connectSdk(gateway.url, era);
    await client.listTools();
    runs[`gatewaySdk_${era}`] = await measure(through, gatewayLabel, text => sdkEcho(client, tool, text));
    await client.close();
  }

  const agent = keepAliveAgent(1);
  log('  gateway: minimal HTTP client, legacy era');
  const session = await LegacySession.open(gateway.url, agent);
  runs.gatewayRaw_legacy = await measure(through, gatewayLabel, text => callEcho(session, tool, text));
  await session.close();
  log('  gateway: minimal HTTP client, modern era');
  const modern = new ModernClient(gateway.url, agent);
  runs.gatewayRaw_modern = await measure(through, gatewayLabel, text => callEcho(modern, tool, text));
  agent.destroy();
  await gateway.stop();

  log('  floor: minimal Node HTTP relay to the container (SDK client, minimal HTTP client)');
  const floor = await startFloor(['relay', images.fixture, owner]);
  const relay = { counts, docker, frontPid: floor.pid };
  const relayLabel = `io.mcp-gateway.owner=${owner}`;
  const floorSdk = await connectSdk(floor.url, 'legacy');
  await floorSdk.listTools();
  runs.floorRelaySdk = await measure(relay, relayLabel, text => sdkEcho(floorSdk, tool, text));
  await floorSdk.close();
  const floorAgent = keepAliveAgent(1);
  const floorClient = new ModernClient(floor.url, floorAgent);
  runs.floorRelay = await measure(relay, relayLabel, text => callEcho(floorClient, tool, text));
  floorAgent.destroy();
  await floor.stop();

  // The SDK floor: the SDK's own HTTP transports, server and client relaying to the container, and
  // nothing of the gateway's. What it adds is what any gateway on the official SDK must add.
  log('  floor: the MCP SDK alone relaying to the container (SDK client, minimal HTTP client)');
  const sdkFloor = await startFloor(['relay', images.fixture, owner], 'sdk-floor.mjs');
  const sdkRelay = { counts, docker, frontPid: sdkFloor.pid };
  for (const era of ['legacy', 'modern']) {
    const client = await connectSdk(sdkFloor.url, era);
    await client.listTools();
    runs[`floorSdkStackSdk_${era}`] = await measure(sdkRelay, relayLabel, text =>
      sdkEcho(client, tool, text)
    );
    await client.close();
  }
  const sdkFloorAgent = keepAliveAgent(1);
  const sdkFloorSession = await LegacySession.open(sdkFloor.url, sdkFloorAgent);
  runs.floorSdkStackRaw_legacy = await measure(sdkRelay, relayLabel, text =>
    callEcho(sdkFloorSession, tool, text)
  );
  await sdkFloorSession.close();
  const sdkFloorModern = new ModernClient(sdkFloor.url, sdkFloorAgent);
  runs.floorSdkStackRaw_modern = await measure(sdkRelay, relayLabel, text =>
    callEcho(sdkFloorModern, tool, text)
  );
  sdkFloorAgent.destroy();
  await sdkFloor.stop();

  const versus = (gatewayRun, baseline) => ({
    addedP50Ms: round(gatewayRun.p50 - baseline.p50),
    addedP99Ms: round(gatewayRun.p99 - baseline.p99),
    ratio: round(gatewayRun.callsPerSec / baseline.callsPerSec, 2)
  });
  return {
    era: prior.kind,
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
