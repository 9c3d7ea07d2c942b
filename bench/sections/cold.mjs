// 3. Cold start: a call to a stopped server until its result, against the floor measured in the
//    same run: `docker run -i` of the same image until `initialize` completes (and, for reference,
//    the gateway's own runtime doing the same: dockerode create, attach, start, initialize).
import { connectAttach, connectDockerRun } from '../lib/direct.mjs';
import { sleep, startFixtureGateway, until } from '../lib/gateway.mjs';
import { keepAliveAgent, LegacySession, callEcho } from '../lib/raw-client.mjs';
import { median, round } from '../lib/stats.mjs';

/** How long the server may sit unused before the gateway stops it (seconds). */
const IDLE_TIMEOUT = 0.5;

/**
 * The gateway serves one server, `cold`, on the fixture image with a short idle timeout. Each round
 * waits until it is stopped and its container gone, then takes one sample of each kind, in turn, so
 * drift in the machine's load touches all three alike.
 */
export async function coldStart({ dir, images, owner, counts, docker, log }) {
  const gateway = await startFixtureGateway(dir, images.fixture, { id: 'cold', idleTimeout: IDLE_TIMEOUT });
  const agent = keepAliveAgent(1);
  const session = await LegacySession.open(gateway.url, agent);
  const stopped = async () => {
    const health = await gateway.health();
    if (health.servers[0].state !== 'stopped') return false;
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`io.mcp-gateway.owner=${gateway.owner}`] }
    });
    return containers.length === 0;
  };
  const samples = { gateway: [], dockerRun: [], attach: [] };
  for (let index = 0; index < counts.coldSamples; index++) {
    log(`  round ${index + 1} of ${counts.coldSamples}`);
    await until(stopped, 30_000, 'the idle stop');
    await sleep(300); // let the engine settle after the removal
    let start = performance.now();
    await callEcho(session, 'cold__echo', 'cold');
    samples.gateway.push(performance.now() - start);

    await sleep(300);
    start = performance.now();
    const run = await connectDockerRun(images.fixture);
    samples.dockerRun.push(performance.now() - start);
    await run.close();

    await sleep(300);
    start = performance.now();
    const attached = await connectAttach(images.fixture, owner, { kind: 'legacy' });
    samples.attach.push(performance.now() - start);
    await attached.close();
  }
  await session.close();
  agent.destroy();
  await gateway.stop();
  const ms = values => values.map(value => round(value, 1));
  const gatewayMs = median(samples.gateway);
  const floorMs = median(samples.dockerRun);
  return {
    samples: { gateway: ms(samples.gateway), dockerRun: ms(samples.dockerRun), attach: ms(samples.attach) },
    medianMs: {
      gateway: round(gatewayMs, 1),
      dockerRun: round(floorMs, 1),
      attach: round(median(samples.attach), 1)
    },
    ratioToDockerRun: round(gatewayMs / floorMs, 2),
    ratioToAttach: round(gatewayMs / median(samples.attach), 2)
  };
}
