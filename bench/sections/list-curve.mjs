// The tools/list curve: the time to list the whole catalog (every page, following cursors) against
// its size, 100 to 10,000 stored tools, with no server running, beside the floor: a bare node:http
// server answering the same pages serialized once. Each size has its own gateway on its own stored
// catalog (ten servers, discovered by a first gateway that is then stopped); every server start
// appends a line to a file, so "no server started to list" is counted, not assumed.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFloor } from '../lib/floor.mjs';
import { GatewayChild } from '../lib/gateway.mjs';
import { manyToolsConfig, startsIn } from '../lib/many-tools.mjs';
import { interleaved } from '../lib/load.mjs';
import { keepAliveAgent, LegacySession, ModernClient } from '../lib/raw-client.mjs';
import { round } from '../lib/stats.mjs';
import { wholeList } from '../lib/whole-list.mjs';

/** The catalog sizes of the curve, in tools. */
export const SIZES = [100, 300, 1_000, 3_000, 10_000];
const SERVERS = 10;
/** The gateway's page size (PAGE_SIZE in src/gateway.ts): the floor pages alike. */
const PAGE_SIZE = 1_000;

/** Every tool of the catalog, parsed, following cursors. */
async function allTools(client) {
  const tools = [];
  let cursor;
  do {
    const result = await client.request('tools/list', cursor === undefined ? {} : { cursor });
    tools.push(...result.tools);
    cursor = result.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

export async function listCurve({ dir, counts, log }) {
  const points = [];
  for (const size of SIZES) {
    const sizeDir = path.join(dir, String(size));
    const startsFile = path.join(dir, `starts-${size}.log`);
    const marker = `--bench-marker=${path.basename(dir)}-${size}`;
    const config = manyToolsConfig(SERVERS, size / SERVERS, startsFile, marker);
    const stateDir = path.join(sizeDir, 'data');
    writeFileSync(startsFile, '');
    log(`  ${size} tools: discovering (first gateway), then listing from the stored catalog`);
    const first = await GatewayChild.start({ dir: sizeDir, config, stateDir });
    await first.discovered(180_000);
    await first.stop();
    writeFileSync(startsFile, '');

    const gateway = await GatewayChild.start({ dir: sizeDir, config, stateDir });
    const agent = keepAliveAgent(1);
    const session = await LegacySession.open(gateway.url, agent);
    const modern = new ModernClient(gateway.url, agent);
    const tools = await allTools(modern);
    if (tools.length !== size) throw new Error(`the gateway listed ${tools.length} of ${size} tools`);
    const toolsFile = path.join(sizeDir, 'tools.json');
    writeFileSync(toolsFile, JSON.stringify(tools));
    const floor = await startFloor(['list-pages', toolsFile, String(PAGE_SIZE)]);
    const floorTools = await allTools(new ModernClient(floor.url, agent));
    if (floorTools.length !== size) throw new Error(`the floor listed ${floorTools.length} of ${size} tools`);

    // Fewer rounds at the largest sizes keep the section to a minute or two; never under 30.
    const count = Math.max(30, Math.round((counts.lists * 1_000) / Math.max(size, 1_000)));
    const lists = await interleaved(
      {
        modern: { call: wholeList(modern) },
        legacy: { call: wholeList(session) },
        floor: { call: wholeList(new ModernClient(floor.url, agent)) },
        // One request, the first page (up to 1,000 tools): what a client waits for per request.
        firstPage: { call: () => modern.requestText('tools/list', {}) }
      },
      { warmup: Math.min(counts.listWarmup, count), count }
    );
    await session.close();
    await floor.stop();
    agent.destroy();
    const serversStarted = startsIn(startsFile);
    await gateway.stop();
    if (serversStarted !== 0) throw new Error(`listing ${size} tools started ${serversStarted} servers`);
    points.push({
      tools: size,
      pages: Math.ceil(size / PAGE_SIZE),
      lists: count,
      p50Ms: {
        modern: round(lists.modern.p50, 2),
        legacy: round(lists.legacy.p50, 2),
        floor: round(lists.floor.p50, 2),
        firstPage: round(lists.firstPage.p50, 2)
      },
      p99Ms: {
        modern: round(lists.modern.p99, 2),
        legacy: round(lists.legacy.p99, 2),
        floor: round(lists.floor.p99, 2)
      },
      serversStarted
    });
  }
  return { servers: SERVERS, pageSize: PAGE_SIZE, points };
}
