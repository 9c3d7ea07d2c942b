// 2. Concurrency: N sessions calling at once through the gateway, each as fast as answers come.
import { containerPid, cpuBudget } from '../lib/cpu-budget.mjs';
import { startFloor } from '../lib/floor.mjs';
import { startFixtureGateway } from '../lib/gateway.mjs';
import { concurrent } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';

/** Concurrent sessions measured: the curve of calls/s against them, each beside its floor. */
const LEVELS = [1, 2, 4, 8, 16, 32, 64];

export async function concurrency({ dir, images, owner, counts, docker, log }) {
  const tool = 'fixture__echo';
  const gateway = await startFixtureGateway(dir, images.fixture);
  // The server starts before anything is timed.
  const warmer = keepAliveAgent(1);
  const first = await LegacySession.open(gateway.url, warmer);
  await callEcho(first, tool, 'start');
  await first.close();
  warmer.destroy();
  const serverPid = await containerPid(docker, `io.mcp-gateway.owner=${gateway.owner}`);
  const levels = [];
  for (const sessions of LEVELS) {
    log(`  ${sessions} session${sessions === 1 ? '' : 's'} for ${counts.concurrencySeconds} s`);
    const agent = keepAliveAgent(sessions);
    const clients = await Promise.all(
      Array.from({ length: sessions }, () => LegacySession.open(gateway.url, agent))
    );
    const call = (client, i) => callEcho(client, tool, `call ${i}`);
    await concurrent(clients, 500, call); // warm-up: sockets, JIT
    const budget = cpuBudget({ gatewayPid: gateway.pid, serverPid });
    const result = await concurrent(clients, counts.concurrencySeconds * 1000, call);
    const cpuUsPerCall = budget(result.calls + result.errors);
    levels.push({ sessions, ...result, cpuUsPerCall, gatewayCpuUsPerCall: cpuUsPerCall.gateway });
    await Promise.all(clients.map(client => client.close()));
    agent.destroy();
  }
  await gateway.stop();

  // The floor at each level: the same load through the least a Node.js HTTP front can do.
  const floor = await startFloor(['relay', images.fixture, owner]);
  const floorLevels = [];
  try {
    const serverPidOfFloor = await containerPid(docker, `io.mcp-gateway.owner=${owner}`).catch(
      () => undefined
    );
    for (const sessions of LEVELS) {
      log(
        `  floor: ${sessions} clients through a minimal Node HTTP relay for ${counts.concurrencySeconds} s`
      );
      const agent = keepAliveAgent(sessions);
      const clients = Array.from({ length: sessions }, () => new ModernClient(floor.url, agent));
      const call = (client, i) => callEcho(client, tool, `call ${i}`);
      await concurrent(clients, 500, call);
      const serverPid = serverPidOfFloor ?? (await containerPid(docker, `io.mcp-gateway.owner=${owner}`));
      const budget = cpuBudget({ gatewayPid: floor.pid, serverPid });
      const result = await concurrent(clients, counts.concurrencySeconds * 1000, call);
      floorLevels.push({ sessions, ...result, cpuUsPerCall: budget(result.calls + result.errors) });
      agent.destroy();
    }
  } finally {
    await floor.stop();
  }
  const floorAt16 = floorLevels.find(level => level.sessions === 16);
  return {
    client: 'minimal HTTP client (legacy era, one session per worker)',
    levels,
    floorLevels,
    floorAt16
  };
}
