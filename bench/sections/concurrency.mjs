// 2. Concurrency: N sessions calling at once through the gateway, each as fast as answers come.
import { containerPid, cpuBudget } from '../lib/cpu-budget.mjs';
import { startFloor } from '../lib/floor.mjs';
import { startFixtureGateway } from '../lib/gateway.mjs';
import { concurrent } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, ModernClient, callEcho } from '../lib/raw-client.mjs';

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
  for (const sessions of [1, 16, 64]) {
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

  // The floor at 16: the same load through the least a Node.js HTTP front can do.
  log(`  floor: 16 clients through a minimal Node HTTP relay for ${counts.concurrencySeconds} s`);
  const floor = await startFloor(['relay', images.fixture, owner]);
  const agent = keepAliveAgent(16);
  const clients = Array.from({ length: 16 }, () => new ModernClient(floor.url, agent));
  const call = (client, i) => callEcho(client, tool, `call ${i}`);
  await concurrent(clients, 500, call);
  const budget = cpuBudget({
    gatewayPid: floor.pid,
    serverPid: await containerPid(docker, `io.mcp-gateway.owner=${owner}`)
  });
  const result = await concurrent(clients, counts.concurrencySeconds * 1000, call);
  const floorAt16 = { sessions: 16, ...result, cpuUsPerCall: budget(result.calls + result.errors) };
  agent.destroy();
  await floor.stop();
  return { client: 'minimal HTTP client (legacy era, one session per worker)', levels, floorAt16 };
}
