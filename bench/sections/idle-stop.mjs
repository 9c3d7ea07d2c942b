// Idle to stopped: from the idle timer firing (the gateway's "stopping server" line, reason idle) to
// the container gone from the engine, for a server that exits on SIGTERM and one that ignores it
// (and stdin's end), which the engine kills after the stop grace. The containers run with an init
// process (docker-runtime.ts: Init), which passes SIGTERM on to the server.
import path from 'node:path';
import { GatewayChild, sleep } from '../lib/gateway.mjs';
import { keepAliveAgent, LegacySession, callEcho } from '../lib/raw-client.mjs';

/** A fixture server that ignores SIGTERM and stays up after its stdin ends. */
const STUBBORN = [
  'node',
  '-e',
  "process.on('SIGTERM', () => {}); setInterval(() => {}, 1 << 30); import('/app/fixture-server.mjs')"
];

/** The time (ms since the epoch, the gateway's clock) of its first idle stop after `after`. */
async function idleStopTime(gateway, after) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const line of gateway.tail.split('\n')) {
      if (!line.includes('"stopping server"') || !line.includes('"idle"')) continue;
      const { time } = JSON.parse(line);
      if (time > after) return time;
    }
    await sleep(5);
  }
  throw new Error(`no idle stop within 30 s\n${gateway.tail}`);
}

async function oneStop({ dir, image, command, docker, samples }) {
  const config = `defaults:\n  idleTimeout: 1\nservers:\n  fixture:\n    image: ${image}\n${
    command ? `    command: ${JSON.stringify(command)}\n` : ''
  }`;
  const gateway = await GatewayChild.start({ dir, config });
  const agent = keepAliveAgent(1);
  const times = [];
  let lastFired = 0;
  try {
    await gateway.discovered();
    for (let i = 0; i < samples; i++) {
      const session = await LegacySession.open(gateway.url, agent);
      await callEcho(session, 'fixture__echo', 'wake');
      await session.close();
      const firedAt = await idleStopTime(gateway, times.length === 0 ? 0 : lastFired);
      lastFired = firedAt;
      const label = `io.mcp-gateway.owner=${gateway.owner}`;
      for (;;) {
        const left = await docker.listContainers({ all: true, filters: { label: [label] } });
        if (left.length === 0) break;
        await sleep(10);
      }
      times.push(Date.now() - firedAt);
    }
  } finally {
    agent.destroy();
    await gateway.stop();
  }
  times.sort((a, b) => a - b);
  return { samples: times, medianMs: times[Math.floor(times.length / 2)] };
}

export async function idleStop({ dir, images, docker, counts, log }) {
  const samples = counts.coldSamples;
  log('  a server that exits on SIGTERM');
  const handles = await oneStop({ dir: path.join(dir, 'handles'), image: images.fixture, docker, samples });
  log('  a server that ignores SIGTERM');
  const ignores = await oneStop({
    dir: path.join(dir, 'ignores'),
    image: images.fixture,
    command: STUBBORN,
    docker,
    samples
  });
  return { handlesSigterm: handles, ignoresSigterm: ignores };
}
