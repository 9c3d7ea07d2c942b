import type { Tool } from '@modelcontextprotocol/client';

/**
 * How much a word counts in each field of a tool: its name says what it does most sharply, its
 * parameters what it works on, its description the rest (and a parameter's description least).
 */
const FIELD_WEIGHTS = { name: 3, parameter: 1.5, description: 1, parameterDescription: 0.5 } as const;
type Field = keyof typeof FIELD_WEIGHTS;

/** BM25's term-frequency saturation and length normalisation (the usual values). */
const K1 = 1.2;
const B = 0.75;

/** Words that say nothing about which tool is meant. */
const STOP_WORDS = new Set(
  (
    'a an and any are as at be by can do does for from get give how i in into is it its me my ' +
    'of on or some that the their them then there these this to use using want what when which ' +
    'who will with without would you your'
  ).split(' ')
);

/**
 * Words a user says for what tools call otherwise: each group's words stand for one another in a
 * query (at {@link SYNONYM_WEIGHT}). General software and web vocabulary, not any one server's.
 */
const SYNONYM_GROUPS = [
  ['create', 'make', 'new', 'add'],
  ['delete', 'remove', 'erase'],
  ['read', 'show', 'view', 'display', 'see'],
  ['search', 'find', 'look', 'lookup'],
  ['issue', 'bug', 'ticket'],
  ['repository', 'repo'],
  ['directory', 'folder', 'dir'],
  ['fork', 'copy', 'clone', 'duplicate'],
  ['navigate', 'go', 'visit', 'browse', 'goto'],
  ['screenshot', 'capture', 'image', 'picture'],
  ['click', 'press', 'tap'],
  ['post', 'send'],
  ['kubernetes', 'k8s', 'kube'],
  ['database', 'db'],
  ['message', 'msg'],
  ['size', 'big', 'large'],
  ['direction', 'route', 'driving'],
  ['configuration', 'config', 'settings'],
  ['pull', 'pr'],
  ['merge', 'mr']
];
/** How much a synonym counts against the word itself. */
const SYNONYM_WEIGHT = 0.6;
/** How much two adjacent words joined (stack trace → stacktrace) count. */
const JOINED_WEIGHT = 0.6;

/**
 * The words of `text`, lower-cased and reduced to a common stem: split at every character that is
 * not a letter or digit (so `__`, `_` and `-` separate) and at camelCase humps (`listPullRequests`
 * → list, pull, request), stop words left out.
 */
export function tokenize(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(word => word.length > 0 && !STOP_WORDS.has(word))
    .map(stem);
}

/**
 * A light English stemmer, enough for a query's "issues" or "creating" to meet a tool's "issue"
 * or "create": plural and verb endings off, then a final e (create, created, creating → creat).
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let stemmed = word;
  if (stemmed.endsWith('ies') && stemmed.length > 4) stemmed = `${stemmed.slice(0, -3)}y`;
  else if (stemmed.endsWith('sses')) stemmed = stemmed.slice(0, -2);
  else if (/[^su]s$/.test(stemmed)) stemmed = stemmed.slice(0, -1);
  if (stemmed.endsWith('ing') && stemmed.length > 5) stemmed = stemmed.slice(0, -3);
  else if (stemmed.endsWith('ed') && stemmed.length > 4) stemmed = stemmed.slice(0, -2);
  if (stemmed.endsWith('e') && stemmed.length > 3) stemmed = stemmed.slice(0, -1);
  return stemmed;
}

const SYNONYMS = new Map<string, string[]>();
for (const group of SYNONYM_GROUPS) {
  const stems = group.map(stem);
  for (const word of stems)
    SYNONYMS.set(
      word,
      stems.filter(other => other !== word)
    );
}

/**
 * The terms a query looks for, each with its weight: its own words (1), their synonyms and each two
 * adjacent words joined into one (less), so a user's wording meets a tool's.
 */
export function queryTerms(query: string): Map<string, number> {
  const words = tokenize(query);
  const terms = new Map<string, number>();
  const add = (term: string, weight: number) => terms.set(term, Math.max(terms.get(term) ?? 0, weight));
  words.forEach((word, i) => {
    add(word, 1);
    for (const synonym of SYNONYMS.get(word) ?? []) add(synonym, SYNONYM_WEIGHT);
    const next = words[i + 1];
    if (next !== undefined) add(stem(`${word}${next}`), JOINED_WEIGHT);
  });
  return terms;
}

/** One tool as the index sees it: per word, its weighted count over the fields. */
interface Document {
  readonly tool: Tool;
  readonly terms: ReadonlyMap<string, number>;
  readonly length: number;
}

/**
 * A BM25 index over a fixed tool list: names, descriptions, and the names and descriptions of the
 * input schema's top-level parameters, each field weighted by {@link FIELD_WEIGHTS} (term counts
 * and lengths are summed with the weights, BM25F's simple form). Pure and in memory; built once per
 * list by {@link ToolSearchIndex.of}.
 */
export class ToolSearchIndex {
  private static readonly built = new WeakMap<readonly Tool[], ToolSearchIndex>();
  private readonly documents: readonly Document[];
  /** Per word, how many tools have it. */
  private readonly documentFrequency = new Map<string, number>();
  private readonly averageLength: number;

  constructor(tools: readonly Tool[]) {
    this.documents = tools.map(documentOf);
    for (const document of this.documents) {
      for (const term of document.terms.keys()) {
        this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      }
    }
    const total = this.documents.reduce((sum, document) => sum + document.length, 0);
    this.averageLength = this.documents.length > 0 ? total / this.documents.length : 1;
  }

  /**
   * The index of `tools`, built on first use and kept while that array lives: the catalog replaces
   * its list when it changes, so a new list is a new index and an unchanged one is never rebuilt.
   */
  static of(tools: readonly Tool[]): ToolSearchIndex {
    let index = ToolSearchIndex.built.get(tools);
    if (!index) {
      index = new ToolSearchIndex(tools);
      ToolSearchIndex.built.set(tools, index);
    }
    return index;
  }

  /**
   * The `limit` tools that match `query` best, best first, among those `visible` accepts; ties keep
   * the list's order. A query with no indexed word matches nothing.
   */
  search(query: string, limit: number, visible: (tool: Tool) => boolean = () => true): Tool[] {
    const terms = queryTerms(query);
    const words = [...terms.keys()];
    const count = this.documents.length;
    const weights = words.map(word => {
      const frequency = this.documentFrequency.get(word) ?? 0;
      return terms.get(word)! * Math.log(1 + (count - frequency + 0.5) / (frequency + 0.5));
    });
    const scored: { tool: Tool; score: number; at: number }[] = [];
    this.documents.forEach((document, at) => {
      let score = 0;
      const norm = K1 * (1 - B + (B * document.length) / this.averageLength);
      words.forEach((word, i) => {
        const frequency = document.terms.get(word);
        if (frequency !== undefined) score += (weights[i]! * frequency * (K1 + 1)) / (frequency + norm);
      });
      if (score > 0 && visible(document.tool)) scored.push({ tool: document.tool, score, at });
    });
    scored.sort((a, b) => b.score - a.score || a.at - b.at);
    return scored.slice(0, limit).map(hit => hit.tool);
  }
}

function documentOf(tool: Tool): Document {
  const terms = new Map<string, number>();
  let length = 0;
  const add = (field: Field, text: unknown) => {
    if (typeof text !== 'string') return;
    const weight = FIELD_WEIGHTS[field];
    for (const term of tokenize(text)) {
      terms.set(term, (terms.get(term) ?? 0) + weight);
      length += weight;
    }
  };
  add('name', tool.name);
  add('description', tool.description);
  const properties = (tool.inputSchema as { properties?: unknown }).properties;
  if (typeof properties === 'object' && properties !== null) {
    for (const [name, schema] of Object.entries(properties)) {
      add('parameter', name);
      add('parameterDescription', (schema as { description?: unknown } | null)?.description);
    }
  }
  return { tool, terms, length };
}
