// Tool search (`gateway.expose: search`): how well `search_tools` finds the tool a user means, and
// how fast it answers on 1,000 stored tools.
//   - Quality: recall@5 on the quality set of bench/data (real servers' tools, queries as users
//     ask), in-process and through the gateway.
//   - Speed: the index alone (in-process, dist/), and `search_tools` over HTTP through a real gateway
//     (SDK client, both eras). The 1,000 tools are the real ones padded with generated ones, served
//     by local-process servers that a first gateway discovers; a second gateway on the same state
//     directory searches the stored catalog. Every server start appends a line to a file, so "no
//     server started to search" is counted, not assumed.
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildToolIndex } from '../../dist/catalog/tool-index.js';
import { ToolSearchIndex } from '../../dist/catalog/tool-search.js';
import { catalogSources, paddedSources, QUERIES, recallAt } from '../data/tool-search-set.mjs';
import { GatewayChild, ROOT } from '../lib/gateway.mjs';
import { sequential } from '../lib/load.mjs';
import { processesWith } from '../lib/proc.mjs';
import { connectSdk } from '../lib/sdk-client.mjs';
import { median } from '../lib/stats.mjs';

const SERVER = path.join(ROOT, 'bench', 'servers', 'tools-from-file.mjs');
const TOOLS = 1_000;
const K = 5;

/** The targets for tool search. */
export const SEARCH_TARGETS = { recallAt5: 0.9, searchP50Ms: 5 };

const starts = file => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
const round3 = value => Math.round(value * 1000) / 1000;

function configFor(sources, dir, startsFile, marker) {
  const lines = ['defaults:', '  idleTimeout: 0', 'servers:'];
  for (const source of sources) {
    const file = path.join(dir, `${source.serverId}.json`);
    writeFileSync(file, JSON.stringify(source.tools));
    lines.push(
      `  ${source.serverId}:`,
      `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SERVER)}, ${JSON.stringify(file)}, ${JSON.stringify(marker)}]`,
      `    env: { BENCH_SERVER_ID: "${source.serverId}", BENCH_STARTS_FILE: ${JSON.stringify(startsFile)} }`
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The index alone: build time, recall@5 and search latency, on the real tools and on 1,000. */
async function inProcess(searches) {
  const real = new ToolSearchIndex(buildToolIndex(catalogSources()).tools);
  const padded = buildToolIndex(paddedSources(TOOLS)).tools;
  const builds = [];
  for (let i = 0; i < 20; i++) {
    const began = performance.now();
    new ToolSearchIndex(padded);
    builds.push(performance.now() - began);
  }
  const index = new ToolSearchIndex(padded);
  const search = index => query => index.search(query, K).map(tool => tool.name);
  for (let i = 0; i < QUERIES.length * 5; i++) index.search(QUERIES[i % QUERIES.length].query, K);
  const latency = await sequential(searches, i => index.search(QUERIES[i % QUERIES.length].query, K));
  const realRecall = recallAt(K, search(real));
  return {
    tools: padded.length,
    buildMs: round3(median(builds)),
    recallReal: round3(realRecall.recall),
    recallPadded: round3(recallAt(K, search(index)).recall),
    misses: realRecall.misses,
    latency
  };
}

export async function toolSearch({ dir, counts, log }) {
  const searches = Math.max(counts.lists * 2, QUERIES.length * 2);
  log('  the index alone (in-process)');
  const alone = await inProcess(searches * 5);

  const sources = paddedSources(TOOLS);
  const startsFile = path.join(dir, 'starts.log');
  const marker = `--bench-marker=${path.basename(dir)}-search`;
  const config = configFor(sources, dir, startsFile, marker);
  const stateDir = path.join(dir, 'data');
  writeFileSync(startsFile, '');

  log(`  discovering ${sources.length} servers, ${TOOLS} tools (first gateway)`);
  const first = await GatewayChild.start({ dir, config, stateDir });
  await first.discovered(180_000);
  await first.stop();
  const discoveryStarts = starts(startsFile);
  writeFileSync(startsFile, '');

  log('  search_tools on the stored catalog (second gateway, expose: search)');
  const gateway = await GatewayChild.start({ dir, config, stateDir, gatewaySettings: ['expose: search'] });
  const eras = {};
  for (const era of ['legacy', 'modern']) {
    const client = await connectSdk(gateway.url, era);
    const { tools } = await client.listTools(undefined, { cacheMode: 'bypass' });
    const listed = tools.map(tool => tool.name).join(', ');
    if (listed !== 'search_tools, call_tool') throw new Error(`expose: search listed ${listed}`);
    const searchTools = async query => {
      const result = await client.callTool({ name: 'search_tools', arguments: { query, limit: K } });
      if (result.isError) throw new Error(`search_tools failed: ${JSON.stringify(result).slice(0, 300)}`);
      return result.structuredContent.tools.map(tool => tool.name);
    };
    // One pass collects the answers for recall; it also warms the path up.
    const answers = new Map();
    for (const { query } of QUERIES) answers.set(query, await searchTools(query));
    const latency = await sequential(searches, i => searchTools(QUERIES[i % QUERIES.length].query));
    eras[era] = { latency, recall: round3(recallAt(K, query => answers.get(query)).recall) };
    await client.close();
  }
  const after = await gateway.health();
  const proof = {
    serversStarted: starts(startsFile),
    serverProcessesRunning: processesWith(marker).length,
    statesAfter: [...new Set(after.servers.map(server => server.state))]
  };
  await gateway.stop();
  return {
    tools: TOOLS,
    servers: sources.length,
    realTools: catalogSources().reduce((sum, source) => sum + source.tools.length, 0),
    queries: QUERIES.length,
    discoveryStarts,
    alone,
    gateway: eras,
    proof
  };
}

const ms = value => `${value.toFixed(2)} ms`;

/** The section's rows of the targets table. */
export function toolSearchTargets(section) {
  if (!section?.alone) return [];
  const { alone, gateway, proof } = section;
  return [
    {
      target: `search_tools recall@5 ≥ ${SEARCH_TARGETS.recallAt5} (${section.queries} queries, ${section.realTools} real tools)`,
      measured: `${alone.recallReal} (padded to ${section.tools} tools: ${alone.recallPadded}; through the gateway: ${gateway.legacy.recall})`,
      met: alone.recallReal >= SEARCH_TARGETS.recallAt5
    },
    {
      target: `search_tools p50 ≤ ${SEARCH_TARGETS.searchP50Ms} ms on ${section.tools} stored tools (SDK client, 2025-11-25 session)`,
      measured: `${ms(gateway.legacy.latency.p50)} (2026-07-28: ${ms(gateway.modern.latency.p50)}; the index alone: ${ms(alone.latency.p50)})`,
      met: gateway.legacy.latency.p50 <= SEARCH_TARGETS.searchP50Ms
    },
    {
      target: 'search_tools starts zero servers',
      measured: `${proof.serversStarted} started, ${proof.serverProcessesRunning} running`,
      met: proof.serversStarted === 0 && proof.serverProcessesRunning === 0
    }
  ];
}

/** The section's part of the markdown report. */
export function renderToolSearch(section, table) {
  if (!section?.alone) return [];
  const { alone, gateway, proof } = section;
  const row = (label, run) => [
    label,
    ms(run.p50),
    ms(run.p90),
    ms(run.p99),
    run.callsPerSec.toLocaleString('en')
  ];
  return [
    '## 8. Tool search',
    '',
    `\`gateway.expose: search\` on ${section.tools} tools: the ${section.realTools} real tools of bench/data padded with generated ones, on ${section.servers} local-process servers. A first gateway discovered them (${section.discoveryStarts} server starts); a second one on the same state directory answered \`search_tools\` from the stored catalog: **${proof.serversStarted} servers started**, ${proof.serverProcessesRunning} server processes running afterwards, server states afterwards: ${proof.statesAfter.join(', ')}.`,
    '',
    `Quality (${section.queries} queries, recall@${K}: the share of each query's tools among the first ${K}, averaged): **${alone.recallReal}** on the real tools, ${alone.recallPadded} padded to ${section.tools}; through the gateway ${gateway.legacy.recall} (2025-11-25) and ${gateway.modern.recall} (2026-07-28). The index of ${section.tools} tools builds in ${ms(alone.buildMs)} (median of 20), once per tool list.`,
    '',
    table(
      ['search of 5 tools among ' + section.tools, 'p50', 'p90', 'p99', 'searches/s'],
      [
        row('search_tools, SDK client, 2025-11-25 session', gateway.legacy.latency),
        row('search_tools, SDK client, 2026-07-28', gateway.modern.latency),
        row('the index alone (in-process)', alone.latency)
      ]
    ),
    '',
    ...(alone.misses.length > 0
      ? [
          'Queries whose tools were not all in the first 5 (real tools):',
          '',
          ...alone.misses.map(
            miss => `- “${miss.query}”: wanted ${miss.expected.join(', ')}; got ${miss.got.join(', ')}`
          ),
          ''
        ]
      : [])
  ];
}
