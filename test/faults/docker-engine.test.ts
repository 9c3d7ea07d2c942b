// Fault family: the Docker engine goes away under the gateway (kill -9, an orderly stop, a hang)
// and comes back. Runs on an engine of the test's own (its own socket and data), never on the one
// other tests share; the gateway is pointed at it with DOCKER_HOST.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  docker as sharedDocker,
  ensureFixtureImages,
  requireDocker,
  TEST_OWNER
} from '../support/docker-test-setup.js';
import { OwnDockerEngine } from '../support/own-docker-engine.js';
import { connect, GatewayProcess, textOf, waitUntil } from '../support/gateway-process.js';

const available = (await requireDocker('Docker engine fault tests')) && canStartEngine();

/** Whether this machine lets the test start an engine of its own (dockerd, as root). */
function canStartEngine(): boolean {
  if (spawnSync('dockerd', ['--version']).status === 0 && process.getuid?.() === 0) return true;
  const why = 'Docker engine fault tests need dockerd on the PATH and root, to start an engine of their own';
  if (process.env.CI === 'true') throw new Error(`${why} (.ci/run installs docker.io)`);
  console.warn(`\n*** SKIPPED: ${why}. ***\n`);
  return false;
}

const SERVER = 'clock';
const ownerLabels = ['io.mcp-gateway.managed=true', `io.mcp-gateway.owner=${TEST_OWNER}`];

/** One call's outcome, as a client saw it. */
interface Outcome {
  readonly at: number;
  readonly ok: boolean;
  readonly error?: string;
}

describe.skipIf(!available)('the Docker engine killed and restarted', () => {
  let engine: OwnDockerEngine;
  let gateway: GatewayProcess | undefined;
  let client: Client | undefined;
  let fixtureImage: string;

  beforeAll(async () => {
    fixtureImage = (await ensureFixtureImages()).fixture;
    engine = await OwnDockerEngine.start();
    await engine.importImage(sharedDocker, fixtureImage);
  }, 240_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await gateway?.dispose();
    await engine?.dispose();
  }, 60_000);

  const ours = () => engine.docker.listContainers({ all: true, filters: { label: ownerLabels } });

  const echo = async (text: string): Promise<Outcome> => {
    const at = Date.now();
    try {
      const result = await client!.callTool({ name: `${SERVER}__echo`, arguments: { text } });
      return { at, ok: textOf(result) === text };
    } catch (error) {
      return { at, ok: false, error: (error as Error).message };
    }
  };

  it('sweeps leftovers once an engine that was down at start answers', async () => {
    // A container a previous gateway with this owner left behind, then the engine goes down.
    const leftover = await engine.docker.createContainer({
      Image: fixtureImage,
      Labels: {
        'io.mcp-gateway.managed': 'true',
        'io.mcp-gateway.owner': TEST_OWNER,
        'io.mcp-gateway.server': SERVER
      },
      HostConfig: { NetworkMode: 'none' }
    });
    await engine.stop();

    gateway = await GatewayProcess.start(
      `
defaults:
  idleTimeout: 0
servers:
  ${SERVER}:
    image: ${fixtureImage}
`,
      { env: { DOCKER_HOST: engine.host, MCP_GATEWAY_OWNER: TEST_OWNER } }
    );
    await gateway.waitForLog(line => line.msg?.includes('Docker engine is unreachable') === true);
    client = await connect(gateway.url, 'legacy');
    const whileDown = await echo('down');
    expect(whileDown.ok).toBe(false);
    expect(whileDown.error).toMatch(new RegExp(`server ${SERVER}: the Docker engine is unreachable`));

    await engine.up();
    expect(await echo('up')).toMatchObject({ ok: true });
    const left = await ours();
    expect(left.map(info => info.Id)).not.toContain(leftover.id);
    expect(left.map(info => info.State)).toEqual(['running']);
  }, 120_000);

  it('recovers under steady traffic after a kill -9 mid-call, with errors that name the server and the reason', async () => {
    expect(await echo('warm')).toMatchObject({ ok: true });
    const before = (await ours()).map(info => info.Id);

    // A call in flight, and a steady stream of calls (every 100 ms) from here to the end.
    const inFlight = client!.callTool({ name: `${SERVER}__slow`, arguments: { ms: 30_000 } }).then(
      () => 'answered',
      (error: Error) => error.message
    );
    const outcomes: Outcome[] = [];
    let traffic = true;
    const loop = (async () => {
      for (let i = 0; traffic; i++) {
        outcomes.push(await echo(`steady ${i}`));
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    })();
    try {
      await new Promise(resolve => setTimeout(resolve, 500));
      const killedAt = Date.now();
      await engine.kill();

      // The call in flight fails promptly, saying which server and why.
      const inFlightError = await inFlight;
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      expect(inFlightError).toMatch(new RegExp(`server ${SERVER}`));
      expect(inFlightError).toMatch(/Docker engine/);

      // Calls while the engine is down fail, each naming the server and the engine.
      await waitUntil(() => outcomes.some(o => o.at > killedAt + 1_000 && !o.ok), 15_000);
      const restartedAt = Date.now();
      await engine.up();

      // Calls succeed again without restarting the gateway, while traffic never stopped.
      await waitUntil(() => outcomes.some(o => o.at > restartedAt && o.ok), 30_000);
      const failures = outcomes.filter(o => o.at > killedAt && !o.ok);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure.error).toMatch(new RegExp(`server ${SERVER}`));
        expect(failure.error).toMatch(/Docker engine/);
      }
      expect(gateway!.child.exitCode).toBeNull();

      // The container the dead engine left behind is swept; only the new one runs.
      await waitUntil(async () => {
        const now = await ours();
        return now.length === 1 && !before.includes(now[0]!.Id) && now[0]!.State === 'running';
      }, 10_000);
    } finally {
      traffic = false;
      await loop;
    }
    expect(outcomes.at(-1)).toMatchObject({ ok: true });
  }, 120_000);

  it('answers /healthz at once while the engine hangs (SIGSTOP), and says so once its ping times out', async () => {
    const healthz = async () => {
      const began = performance.now();
      const body = (await gateway!.health()) as { status?: string; docker?: { reachable?: boolean } };
      return { ms: performance.now() - began, body };
    };
    expect((await healthz()).body).toMatchObject({ status: 'ok', docker: { reachable: true } });
    engine.freeze();
    const answers: Awaited<ReturnType<typeof healthz>>[] = [];
    try {
      // Each answer is what is known; the ping one begins (one at a time) waits out its 2 s bound.
      const deadline = Date.now() + 15_000;
      do {
        answers.push(await healthz());
        await new Promise(resolve => setTimeout(resolve, 200));
      } while (answers.at(-1)!.body.docker?.reachable !== false && Date.now() < deadline);
    } finally {
      engine.thaw();
    }
    // Well inside the image's HEALTHCHECK timeout (5 s), however long the engine takes.
    expect(answers.map(answer => answer.ms).filter(ms => ms >= 1_000)).toEqual([]);
    expect(answers.at(-1)!.body).toMatchObject({
      status: 'degraded',
      docker: { reachable: false, error: expect.stringContaining('timed out') },
      unavailable: [{ server: SERVER, reason: expect.stringContaining('the Docker engine is unreachable') }]
    });
    await expect
      .poll(() => gateway!.health(), { timeout: 15_000 })
      .toMatchObject({ status: 'ok', docker: { reachable: true } });
  }, 60_000);
});
