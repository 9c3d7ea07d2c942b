import { describe, expect, it } from 'vitest';
import { buildToolIndex } from '../../src/catalog/tool-index.js';
import { ToolSearchIndex } from '../../src/catalog/tool-search.js';
import {
  CATALOG,
  catalogSources,
  paddedSources,
  QUERIES,
  recallAt
} from '../../bench/data/tool-search-set.mjs';

describe('tool search quality on the bench set', () => {
  it('holds at least 300 real tools and 40 queries', () => {
    expect(CATALOG.reduce((sum, entry) => sum + entry.tools.length, 0)).toBeGreaterThanOrEqual(300);
    expect(QUERIES.length).toBeGreaterThanOrEqual(40);
  });

  it.each([
    ['the real tools', catalogSources()],
    ['1,000 tools (padded)', paddedSources(1_000)]
  ])('finds the answering tools in the first 5 for at least 90%% of the queries: %s', (_, sources) => {
    const index = new ToolSearchIndex(buildToolIndex(sources).tools);
    const result = recallAt(5, query => index.search(query, 5).map(tool => tool.name));
    expect(result.recall, JSON.stringify(result.misses, null, 1)).toBeGreaterThanOrEqual(0.9);
  });
});
