import type { DatabaseSync } from 'node:sqlite';
import type { Tool } from '@modelcontextprotocol/server';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { Profiles } from '../../src/catalog/profiles.js';
import type { CallRunner } from '../../src/sessions/call-runner.js';
import { FastPath } from '../../src/sessions/fast-path.js';
import { describeServers, type GatewayServerOptions } from '../../src/sessions/gateway-server.js';
import { InputStates } from '../../src/sessions/input-states.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { type FakeRuntime, fakeSpec, silentLog, fakeUpstream } from './fake-runtime.js';

/**
 * A started catalog of fake servers `ids` on `runtime`, whose stored catalog (in `db`) lists `tools`
 * for each, so that listing starts none of them. The caller closes the upstreams.
 */
export async function storedCatalog(
  db: DatabaseSync,
  runtime: FakeRuntime,
  ids: readonly string[],
  tools: readonly Tool[]
): Promise<{ catalog: Catalog; upstreams: Upstream[]; specs: ReturnType<typeof fakeSpec>[] }> {
  const specs = ids.map(id => fakeSpec(id));
  const store = new CatalogStore(db);
  for (const spec of specs) {
    store.save({
      serverId: spec.id,
      fingerprint: spec.fingerprint,
      era: { kind: 'legacy' },
      tools: [...tools],
      prompts: [],
      resources: [],
      resourceTemplates: [],
      discoveredAt: '2026-01-01T00:00:00.000Z'
    });
  }
  const upstreams = specs.map(spec => fakeUpstream(spec, runtime));
  const catalog = new Catalog({ upstreams, store, log: silentLog });
  await catalog.start();
  return { catalog, upstreams, specs };
}

/**
 * What the SDK path's servers and the fast path are built from, alike (as gateway.ts builds them):
 * the gateway servers' options over `catalog`, and a fast path over the same catalog and runner.
 */
export function bothPaths(parts: {
  catalog: Catalog;
  runner: CallRunner;
  profiles: Profiles;
  specs: readonly { id: string; description: string | undefined }[];
  pageSize: number;
}): { options: GatewayServerOptions; fastPath: FastPath } {
  const { catalog, runner, profiles, pageSize } = parts;
  const inputStates = new InputStates();
  const options = {
    catalog,
    runner,
    name: 'mcp-gateway',
    version: '9.9.9',
    instructions: describeServers(parts.specs),
    listWaitMs: 1_000,
    pageSize,
    inputStates,
    profiles,
    expose: 'all' as const
  };
  const fastPath = new FastPath({
    catalog,
    runner,
    listWaitMs: 1_000,
    pageSize,
    serverInfo: { name: 'mcp-gateway', version: '9.9.9' },
    maxRequestBodySize: 1_000_000,
    inputStates,
    profiles,
    expose: 'all'
  });
  return { options, fastPath };
}
