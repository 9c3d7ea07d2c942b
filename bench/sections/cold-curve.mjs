// The cold-start curve: 1, 2, 4, 8 and 16 Docker servers (the fixture image), all stopped, called at
// the same moment; the time until every call has its result, beside the floor: as many `docker run -i`
// of the same image started at once, each until `initialize` and one `echo` call are answered. Each
// round waits until the gateway has stopped every server and removed its container.
import { connectDockerRun } from '../lib/direct.mjs';
import { GatewayChild, sleep, until } from '../lib/gateway.mjs';
import { callEcho, keepAliveAgent, LegacySession } from '../lib/raw-client.mjs';
import { median, round } from '../lib/stats.mjs';

/** How many servers are started at once, point by point. */
export const LEVELS = [1, 2, 4, 8, 16];
/** How long a server may sit unused before the gateway stops it (seconds). */
const IDLE_TIMEOUT = 0.5;

/** Runs `start(i)` for i < n at once; the time until all have finished and each one's own time (ms). */
async function atOnce(n, start) {
  const began = performance.now();
  const each = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await start(i);
      return performance.now() - began;
    })
  );
  return { all: performance.now() - began, each };
}

export async function coldCurve({ dir, images, counts, docker, log }) {
  const most = Math.max(...LEVELS);
  const ids = Array.from({ length: most }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  const config = `defaults:\n  idleTimeout: ${IDLE_TIMEOUT}\nservers:\n${ids.map(id => `  ${id}:\n    image: ${images.fixture}\n`).join('')}`;
  const gateway = await GatewayChild.start({ dir, config });
  await gateway.discovered(300_000);
  const agent = keepAliveAgent(most);
  const session = await LegacySession.open(gateway.url, agent);
  const allStopped = async () => {
    const health = await gateway.health();
    if (health.servers.some(server => server.state !== 'stopped')) return false;
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`io.mcp-gateway.owner=${gateway.owner}`] }
    });
    return containers.length === 0;
  };
  // Two samples per point at most: sixteen containers at once take a while on a small machine.
  const samples = Math.min(counts.coldSamples, 3);
  const points = [];
  for (const n of LEVELS) {
    const runs = { gateway: [], dockerRun: [] };
    for (let sample = 0; sample < samples; sample++) {
      log(`  ${n} at once, sample ${sample + 1} of ${samples}`);
      await until(allStopped, 60_000, 'the idle stop of every server');
      await sleep(500); // let the engine settle after the removals
      runs.gateway.push(await atOnce(n, i => callEcho(session, `${ids[i]}__echo`, ids[i])));

      await sleep(500);
      const opened = [];
      runs.dockerRun.push(
        await atOnce(n, async () => {
          const run = await connectDockerRun(images.fixture);
          opened.push(run);
          await callEcho({ request: (method, params) => run.client.callTool(params) }, 'echo', 'floor');
        })
      );
      await Promise.all(opened.map(run => run.close()));
    }
    const summary = kind => ({
      allMs: round(median(runs[kind].map(run => run.all)), 1),
      eachP50Ms: round(median(runs[kind].flatMap(run => run.each)), 1),
      eachMaxMs: round(Math.max(...runs[kind].flatMap(run => run.each)), 1)
    });
    const point = { servers: n, samples, gateway: summary('gateway'), dockerRun: summary('dockerRun') };
    point.ratio = round(point.gateway.allMs / point.dockerRun.allMs, 2);
    points.push(point);
  }
  await session.close();
  agent.destroy();
  await gateway.stop();
  return { idleTimeoutSeconds: IDLE_TIMEOUT, points };
}
