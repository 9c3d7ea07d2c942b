// 4. Catalog: tools/list of 50 servers × 20 tools with no server running, and proof that listing
//    started none. The catalog is discovered once by a first gateway (which starts every server,
//    three at a time, and stops them again); a second gateway on the same state directory then
//    answers from the stored catalog. Every server start appends a line to a file, so "zero
//    servers started" is counted, not assumed.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFloor } from '../lib/floor.mjs';
import { GatewayChild } from '../lib/gateway.mjs';
import { manyToolsConfig, startsIn } from '../lib/many-tools.mjs';
import { interleaved, sequential } from '../lib/load.mjs';
import { processesWith } from '../lib/proc.mjs';
import { keepAliveAgent, LegacySession, ModernClient } from '../lib/raw-client.mjs';
import { connectSdk } from '../lib/sdk-client.mjs';

export async function catalog({ dir, counts, log }) {
  const servers = 50;
  const toolsEach = 20;
  const startsFile = path.join(dir, 'starts.log');
  const marker = `--bench-marker=${path.basename(dir)}`;
  const config = manyToolsConfig(servers, toolsEach, startsFile, marker);
  const stateDir = path.join(dir, 'data');
  writeFileSync(startsFile, '');

  log(`  discovering ${servers} servers × ${toolsEach} tools (first gateway)`);
  const discoveryStart = performance.now();
  const first = await GatewayChild.start({ dir, config, stateDir });
  await first.discovered(180_000);
  const discoverySeconds = (performance.now() - discoveryStart) / 1000;
  await first.stop();
  const discoveryStarts = startsIn(startsFile);
  writeFileSync(startsFile, '');

  log('  listing from the stored catalog (second gateway)');
  const gateway = await GatewayChild.start({ dir, config, stateDir });
  const health = await gateway.health();
  const agent = keepAliveAgent(1);
  const lists = {};
  let toolCount;
  const check = tools => {
    toolCount = tools.length;
    if (tools.length !== servers * toolsEach) throw new Error(`listed ${tools.length} tools`);
  };
  // The SDK client caches tools/list; `bypass` makes every call a real round trip.
  const sdkList = client => async () =>
    check((await client.listTools(undefined, { cacheMode: 'bypass' })).tools);
  const rawList = client => async () => check((await client.request('tools/list', {})).tools);
  // Received but not parsed: the server's part of the time (the client's JSON.parse of the answer
  // is left out). Each answer must be whole: as long as the longest seen, give or take the id.
  const receivedList = client => {
    let full = 0;
    return async () => {
      const text = await client.requestText('tools/list', {});
      if (text.length < full - 16) throw new Error(`a short tools/list answer: ${text.length} bytes`);
      full = Math.max(full, text.length);
    };
  };
  const measureList = async (name, list) => {
    for (let i = 0; i < counts.listWarmup; i++) await list();
    lists[name] = await sequential(counts.lists, list);
  };
  for (const era of ['legacy', 'modern']) {
    const client = await connectSdk(gateway.url, era);
    await measureList(`sdk_${era}`, sdkList(client));
    await client.close();
  }
  const session = await LegacySession.open(gateway.url, agent);
  await measureList('raw_legacy', rawList(session));
  const listed = await session.request('tools/list', {});
  const modern = new ModernClient(gateway.url, agent);
  await measureList('raw_modern', rawList(modern));

  // Received but not parsed, the gateway against its floors: a bare node:http server answering
  // with the same tools serialized per request, the same serialized once, and the MCP SDK alone
  // (its HTTP transport and Server). Measured in interleaved rounds, so that drift in the machine
  // and in the bench's own heap falls on all of them alike.
  const toolsFile = path.join(dir, 'tools.json');
  const responseBytes = Buffer.byteLength(JSON.stringify(listed));
  writeFileSync(toolsFile, JSON.stringify(listed.tools));
  const floors = [
    await startFloor(['list', toolsFile]),
    await startFloor(['list-cached', toolsFile]),
    await startFloor(['list', toolsFile], 'sdk-floor.mjs')
  ];
  const sdkFloorSession = await LegacySession.open(floors[2].url, agent);
  const received = {
    received_legacy: { call: receivedList(session) },
    // The 2026 era's tools/list takes the gateway's hot path: its pages are kept serialized.
    received_modern: { call: receivedList(modern) },
    floor: { call: receivedList(new ModernClient(floors[0].url, agent)) },
    floorCached: { call: receivedList(new ModernClient(floors[1].url, agent)) },
    floorSdk: { call: receivedList(sdkFloorSession) }
  };
  Object.assign(lists, await interleaved(received, { warmup: counts.listWarmup, count: counts.lists }));
  await sdkFloorSession.close();
  await session.close();
  for (const floor of floors) await floor.stop();
  agent.destroy();

  const after = await gateway.health();
  const serversStarted = startsIn(startsFile);
  const running = processesWith(marker).length;
  await gateway.stop();
  return {
    servers,
    toolsEach,
    tools: toolCount,
    responseBytes,
    discovery: { seconds: Math.round(discoverySeconds * 10) / 10, serversStarted: discoveryStarts },
    discoveringAtStart: health.discovering,
    lists,
    proof: {
      serversStarted,
      serverProcessesRunning: running,
      statesAfter: [...new Set(after.servers.map(server => server.state))],
      restartsAfter: after.servers.reduce((sum, server) => sum + server.restarts, 0)
    }
  };
}
