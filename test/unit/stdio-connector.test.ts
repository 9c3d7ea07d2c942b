import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../src/connectors/connector.js';
import { fakeConnector, FakeRuntime, fakeSpec } from '../support/fake-runtime.js';

const links: Link[] = [];
afterEach(async () => {
  await Promise.all(links.splice(0).map(link => link.close()));
});

async function open(runtime = new FakeRuntime(), maxLineBytes?: number) {
  const connector = fakeConnector(
    fakeSpec('alpha'),
    runtime,
    maxLineBytes === undefined ? {} : { maxLineBytes }
  );
  const link = await connector.open(new AbortController().signal);
  links.push(link);
  return { runtime, link, process: runtime.processes.at(-1)! };
}

describe('StdioConnector', () => {
  it('opens a link over a started process, named by it', async () => {
    const { runtime, link } = await open();
    expect(runtime.starts).toBe(1);
    expect(link.label).toBe('fake alpha #1');
  });

  it('ends the link with the exit of the process: a crash, not requested', async () => {
    const { link, process } = await open();
    process.crash('exit code 7');
    await expect(link.ended).resolves.toEqual({ reason: 'exit code 7', requested: false });
  });

  it('reports an exit with the engine lost as lost', async () => {
    const { link, process } = await open();
    process.crash('engine gone', true);
    await expect(link.ended).resolves.toEqual({ reason: 'engine gone', requested: false, lost: true });
  });

  it('ends the link when stdout ends and no exit follows within the grace', async () => {
    const runtime = new FakeRuntime();
    runtime.exitNeverSeen = true;
    const { link, process } = await open(runtime);
    await link.transport.start();
    const began = performance.now();
    process.crash();
    await expect(link.ended).resolves.toEqual({
      reason: 'its stdout closed, and no exit status followed',
      requested: false
    });
    expect(performance.now() - began).toBeGreaterThanOrEqual(150);
  });

  it('close() stops the process, and the end is requested', async () => {
    const { link, process } = await open();
    await link.close();
    expect(process.running).toBe(false);
    await expect(link.ended).resolves.toMatchObject({ requested: true });
  });

  it('reports a line over the limit as a fault of the link, naming the server and the limit', async () => {
    const { link, process } = await open(new FakeRuntime(), 1_024);
    const faults: Error[] = [];
    link.onfault = fault => faults.push(fault);
    await link.transport.start();
    process.stdout.write(`${'x'.repeat(2_048)}\n`);
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({
      code: 'message_too_large',
      serverId: 'alpha',
      message: expect.stringContaining('server alpha wrote a line of more than 1 KiB on stdout')
    });
  });
});
