import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  docker,
  ensureFixtureImages,
  managedContainers,
  requireDocker
} from '../support/docker-test-setup.js';
import { connect, GatewayProcess, textOf } from '../support/gateway-process.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';

/**
 * A second gateway started on a state directory a gateway serves from (`npm start` run twice) is
 * refused before it touches anything: it used to sweep the first one's running containers as
 * leftovers (they are the state directory's), failing its calls, and only then find its port taken.
 */

const available = await requireDocker('state directory lock tests');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!available)('a second gateway on the same state directory', () => {
  let image: string;
  beforeAll(async () => {
    image = (await ensureFixtureImages()).fixture;
  }, 300_000);

  it('is refused with exit 78 naming the first, which keeps its container and serves on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-lock-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const stateDir = path.join(dir, 'data');
    // The containers are owned by the state directory, as when MCP_GATEWAY_OWNER is unset.
    const owner = DockerRuntime.ownerFor(path.resolve(stateDir));
    cleanups.push(async () => {
      for (const container of await managedContainers(undefined, owner)) {
        await docker
          .getContainer(container.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    });
    const config = `defaults:\n  idleTimeout: 0\nservers:\n  fixture:\n    image: ${image}\n`;
    const first = await GatewayProcess.start(config, { stateDir });
    cleanups.push(() => first.dispose());
    const client = await connect(first.url, 'legacy');
    cleanups.push(() => client.close());
    const pid = textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }));
    expect((await managedContainers('fixture', owner)).map(c => c.State)).toEqual(['running']);

    const second = GatewayProcess.start(config, { stateDir });
    second.then(
      started => cleanups.push(() => started.dispose()),
      () => undefined
    );
    await expect(second).rejects.toThrow(
      new RegExp(
        `exited \\(78\\) before listening:[\\s\\S]*the state directory ${stateDir} is in use by another mcp-gateway \\(pid ${first.child.pid}, `
      )
    );

    // The first one's container was not touched: the same process answers.
    expect(textOf(await client.callTool({ name: 'fixture__pid', arguments: {} }))).toBe(pid);
    expect((await managedContainers('fixture', owner)).map(c => c.State)).toEqual(['running']);

    // Once the first has stopped, the directory is free again.
    await client.close();
    expect(await first.stop()).toMatchObject({ code: 0 });
    const third = await GatewayProcess.start(config, { stateDir });
    cleanups.push(() => third.dispose());
    expect((await third.health()).servers.map(server => server.id)).toEqual(['fixture']);
  });
});
