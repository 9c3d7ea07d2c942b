import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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
import { HOLDER_FILE, LOCK_FILE } from '../../src/store/state-lock.js';

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
        `exited \\(78\\) before listening:[\\s\\S]*the state directory ${stateDir} is in use by another mcp-gateway \\(pid ${first.child.pid} on host ${hostname()}, started [^)]*\\): stop it[\\s\\S]*another gateway holds the state directory`
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

/**
 * Takes the lock in dist/ on argv[1] at the instant argv[2] (ms since the epoch; every contender
 * busy-waits for it, so that they meet however their starts were spread), says `held` or the
 * refusal's code, and stays, keeping the lock, until killed.
 */
const CONTENDER = `
const { lockStateDirectory } = await import(${JSON.stringify(path.resolve('dist/store/state-lock.js'))});
const at = Number(process.argv[2]);
while (Date.now() < at) {}
try { globalThis.lock = lockStateDirectory(process.argv[1]); console.log('held'); }
catch (error) { console.log(error.code); }
setInterval(() => {}, 60000);
`;

describe('processes started at once on one state directory', () => {
  /** Starts `count` contenders together; resolves to what each said. */
  async function race(dir: string, count: number): Promise<string[]> {
    // Late enough for every contender to have loaded the module by then.
    const at = String(Date.now() + 1_500);
    const children = Array.from({ length: count }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, dir, at], {
        stdio: ['ignore', 'pipe', 'inherit']
      })
    );
    try {
      return await Promise.all(
        children.map(async child => {
          const [line] = (await once(child.stdout, 'data')) as [Buffer];
          return line.toString().trim();
        })
      );
    } finally {
      for (const child of children) {
        child.kill('SIGKILL');
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      }
    }
  }

  it('leave exactly one holder, on a free directory and over a stale lock', async () => {
    for (let round = 0; round < 16; round++) {
      const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-lock-race-'));
      cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
      if (round % 2 === 1) {
        // What a holder that was killed leaves: its lock file, and its note (pid 999999 does not run here).
        writeFileSync(path.join(dir, LOCK_FILE), '');
        writeFileSync(
          path.join(dir, HOLDER_FILE),
          JSON.stringify({ pid: 999_999, host: hostname(), startedAt: '2026-11-28T10:00:00.000Z' })
        );
      }
      const said = await race(dir, 8);
      expect(
        said.filter(word => word === 'held'),
        `round ${round}: ${said.join(' ')}`
      ).toHaveLength(1);
      expect(said.filter(word => word === 'locked')).toHaveLength(7);
    }
  }, 120_000);
});
