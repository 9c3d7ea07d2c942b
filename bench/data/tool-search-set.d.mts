// Types of tool-search-set.mjs, for the unit test that checks recall@5 on the bench set.
import type { Tool } from '@modelcontextprotocol/client';

export interface CatalogEntry {
  readonly server: string;
  readonly source: string;
  readonly tools: Tool[];
}
export interface Query {
  readonly query: string;
  readonly tools: string[];
}
export interface Source {
  readonly serverId: string;
  readonly namespace: string;
  readonly tools: Tool[];
}
export interface Recall {
  readonly recall: number;
  readonly queries: number;
  readonly misses: { query: string; expected: string[]; got: string[] }[];
}

export const CATALOG: CatalogEntry[];
export const QUERIES: Query[];
export function catalogSources(): Source[];
export function paddedSources(total: number): Source[];
export function recallAt(k: number, search: (query: string) => string[], queries?: Query[]): Recall;
