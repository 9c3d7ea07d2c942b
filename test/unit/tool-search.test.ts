import type { Tool } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { queryTerms, stem, tokenize, ToolSearchIndex } from '../../src/catalog/tool-search.js';

const tool = (
  name: string,
  description: string,
  properties: Record<string, { type: string; description?: string }> = {}
): Tool => ({
  name,
  description,
  inputSchema: { type: 'object', properties }
});

const TOOLS: Tool[] = [
  tool('github__create_issue', '[github] Create a new issue in a GitHub repository', {
    owner: { type: 'string' },
    repo: { type: 'string' },
    title: { type: 'string', description: 'Issue title' }
  }),
  tool('github__list_pull_requests', '[github] List pull requests in a GitHub repository', {
    state: { type: 'string', description: 'open, closed or all' }
  }),
  tool('fs__read_file', '[fs] Read the complete contents of a file from the file system', {
    path: { type: 'string' }
  }),
  tool('fs__write_file', '[fs] Create a new file or completely overwrite an existing file', {
    path: { type: 'string' },
    content: { type: 'string' }
  }),
  tool('time__getCurrentTime', '[time] Current time in a given timezone', {
    timezone: { type: 'string', description: 'IANA timezone name' }
  })
];

describe('tokenize', () => {
  it('splits exposed names at __, _, - and camelCase humps, lower-cased and stemmed', () => {
    expect(tokenize('github__list_pull-requests')).toEqual(['github', 'list', 'pull', 'request']);
    expect(tokenize('getCurrentTime')).toEqual(['current', 'tim']);
    expect(tokenize('parseHTMLDocument')).toEqual(['pars', 'html', 'document']);
  });

  it('leaves stop words and punctuation out', () => {
    expect(tokenize('What is the time in Tokyo?')).toEqual(['tim', 'tokyo']);
    expect(tokenize('  ,,, !! ')).toEqual([]);
  });

  it('stems plural and verb endings to one word', () => {
    expect(new Set(['create', 'created', 'creating', 'creates'].map(stem))).toEqual(new Set(['creat']));
    expect(new Set(['issue', 'issues'].map(stem))).toEqual(new Set(['issu']));
    expect(new Set(['repository', 'repositories'].map(stem))).toEqual(new Set(['repository']));
    expect(stem('status')).toBe('status');
    expect(stem('v2s')).toBe('v2s');
  });
});

describe('queryTerms', () => {
  it("weighs a query's own words 1, their synonyms and adjacent words joined less", () => {
    const terms = queryTerms('stack trace of a bug');
    expect(terms.get('stack')).toBe(1);
    expect(terms.get('trac')).toBe(1);
    expect(terms.get('bug')).toBe(1);
    expect(terms.get('stacktrac')).toBeLessThan(1);
    expect(terms.get('issu')).toBeLessThan(1);
    expect(terms.get('ticket')).toBeLessThan(1);
  });

  it('keeps the higher weight of a word that is also a synonym', () => {
    expect(queryTerms('find and search').get('search')).toBe(1);
  });
});

describe('ToolSearchIndex', () => {
  it('ranks the tool whose name and description match best first', () => {
    const index = new ToolSearchIndex(TOOLS);
    expect(index.search('open a new issue on github', 3)[0]?.name).toBe('github__create_issue');
    expect(index.search('what time is it in Paris', 3)[0]?.name).toBe('time__getCurrentTime');
    expect(index.search('overwrite a file', 3)[0]?.name).toBe('fs__write_file');
  });

  it("meets a user's words with the tool's: synonyms and joined words", () => {
    const index = new ToolSearchIndex(TOOLS);
    expect(index.search('report a bug', 1)[0]?.name).toBe('github__create_issue');
    const traces = new ToolSearchIndex([
      tool('s__get_event_stacktrace', 'Get the stacktrace of an event'),
      tool('s__list_events', 'List the events of an issue')
    ]);
    expect(traces.search('stack trace', 5).map(found => found.name)).toEqual(['s__get_event_stacktrace']);
  });

  it('counts parameter names and their descriptions', () => {
    const index = new ToolSearchIndex(TOOLS);
    // "timezone" is only a parameter's name and description.
    expect(index.search('timezone', 5).map(found => found.name)).toEqual(['time__getCurrentTime']);
  });

  it('weighs a word in the name over the same word in a description', () => {
    const index = new ToolSearchIndex([
      tool('a__notes', 'Keeps things; can also read them back'),
      tool('b__read', 'Keeps things')
    ]);
    expect(index.search('read', 2).map(found => found.name)).toEqual(['b__read', 'a__notes']);
  });

  it('answers at most limit tools, and none for words no tool has', () => {
    const index = new ToolSearchIndex(TOOLS);
    expect(index.search('file', 1)).toHaveLength(1);
    expect(index.search('zebra quasar', 5)).toEqual([]);
    expect(index.search('the of and', 5)).toEqual([]);
    expect(new ToolSearchIndex([]).search('file', 5)).toEqual([]);
  });

  it('leaves out the tools the filter rejects, and fills the limit from the rest', () => {
    const index = new ToolSearchIndex(TOOLS);
    const found = index.search('file', 5, candidate => candidate.name !== 'fs__read_file');
    expect(found.map(candidate => candidate.name)).toEqual(['fs__write_file']);
  });

  it('builds once per list: the same array gets the same index, a new one a new index', () => {
    const list = [...TOOLS];
    expect(ToolSearchIndex.of(list)).toBe(ToolSearchIndex.of(list));
    expect(ToolSearchIndex.of([...TOOLS])).not.toBe(ToolSearchIndex.of(list));
  });
});
