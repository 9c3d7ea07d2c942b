// The tool-search quality set: real servers' tool lists (tool-catalog.json, see README.md) and
// queries naming the tools that answer them (tool-queries.json). Used by the bench's `search`
// section and by test/unit/tool-search-quality.test.ts; pure, no gateway needed.
import { readFileSync } from 'node:fs';

const read = name => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8'));

/** `[{ server, source, tools }]`: each server's tools as it publishes them. */
export const CATALOG = read('./tool-catalog.json');
/** `[{ query, tools }]`: `tools` are exposed names (`server__tool`), any of which answers the query. */
export const QUERIES = read('./tool-queries.json');

/** The catalog as the gateway's index sources (server id = namespace = the server's name here). */
export function catalogSources() {
  return CATALOG.map(entry => ({ serverId: entry.server, namespace: entry.server, tools: entry.tools }));
}

const VERBS = ['list', 'get', 'create', 'update', 'delete', 'search', 'sync', 'export'];
const NOUNS = ['invoice', 'customer', 'ticket', 'order', 'shipment', 'report', 'asset', 'campaign', 'lead',
  'contract', 'device', 'survey', 'booking', 'payment', 'product', 'employee', 'vendor', 'budget', 'alert', 'note'];

/**
 * The catalog padded to `total` tools with generated servers (`gen00`, `gen01`, …) of 40 tools each:
 * a verb and a business noun each (`create_invoice`), with a description and three parameters in the
 * style of the real ones, so the index holds `total` documents of realistic size and vocabulary.
 */
export function paddedSources(total) {
  const sources = catalogSources();
  let count = sources.reduce((sum, source) => sum + source.tools.length, 0);
  for (let server = 0; count < total; server++) {
    const id = `gen${String(server).padStart(2, '0')}`;
    const tools = [];
    for (let i = 0; i < 40 && count < total; i++, count++) {
      const verb = VERBS[i % VERBS.length];
      const noun = NOUNS[(i * 7 + server * 3) % NOUNS.length];
      tools.push({
        name: `${verb}_${noun}${Math.floor(i / VERBS.length)}`,
        description: `${verb[0].toUpperCase()}${verb.slice(1)}s ${noun} records in the ${id} back office, with their status and owner.`,
        inputSchema: {
          type: 'object',
          properties: {
            [`${noun}Id`]: { type: 'string', description: `The ${noun}'s identifier` },
            fields: { type: 'array', description: 'Which fields to return' },
            limit: { type: 'integer', description: 'At most this many records' }
          }
        }
      });
    }
    sources.push({ serverId: id, namespace: id, tools });
  }
  return sources;
}

/**
 * recall@k of `search` (query → exposed names, best first) over the queries: per query, the share of
 * its answering tools found in the first k (all of them, or k when it has more), averaged; with the
 * queries that found none of theirs.
 */
export function recallAt(k, search, queries = QUERIES) {
  let sum = 0;
  const misses = [];
  for (const { query, tools } of queries) {
    const top = search(query).slice(0, k);
    const found = tools.filter(tool => top.includes(tool)).length;
    sum += found / Math.min(tools.length, k);
    if (found < Math.min(tools.length, k)) misses.push({ query, expected: tools, got: top });
  }
  return { recall: sum / queries.length, queries: queries.length, misses };
}
