import Docker from 'dockerode';
import { dockerAvailable, ensureFixtureImages } from './docker-images.js';

export const docker = new Docker();

/**
 * Whether the Docker suites run. In CI (`CI=true`) an unreachable engine is an error, never a
 * skip; elsewhere the suites are skipped and say so loudly.
 */
export async function requireDocker(suite: string): Promise<boolean> {
  if (await dockerAvailable()) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      `${suite}: the Docker engine is unreachable, and CI requires it (start dockerd; see .ci/run)`
    );
  }
  console.warn(
    `\n*** ${suite}: SKIPPED — no Docker engine answers. These tests need a real engine; .ci/run starts one. ***\n`
  );
  return false;
}

export { ensureFixtureImages };

/**
 * The owner label the test gateways run with (MCP_GATEWAY_OWNER), so these tests see only their
 * own containers even when other gateways share the engine.
 */
export const TEST_OWNER = `test-${process.pid}-${Date.now()}`;

/** A gateway's containers (in any state; by default this test run's), optionally for one server. */
export async function managedContainers(
  server?: string,
  owner = TEST_OWNER
): Promise<Docker.ContainerInfo[]> {
  const labels = [
    'io.mcp-gateway.managed=true',
    `io.mcp-gateway.owner=${owner}`,
    ...(server ? [`io.mcp-gateway.server=${server}`] : [])
  ];
  return docker.listContainers({ all: true, filters: { label: labels } });
}

/** The running ones among {@link managedContainers}. */
export async function runningContainers(server: string): Promise<Docker.ContainerInfo[]> {
  return (await managedContainers(server)).filter(container => container.State === 'running');
}
