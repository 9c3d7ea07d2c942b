import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { GatewayError } from '../../src/errors.js';
import { MAX_QUERY_LENGTH, SearchTools, type DirectCall } from '../../src/sessions/search-tools.js';

const TOOLS: Tool[] = [
  { name: 'git__log', description: '[git] Shows the commit log', inputSchema: { type: 'object' } },
  { name: 'git__push', description: '[git] Pushes commits to a remote', inputSchema: { type: 'object' } },
  { name: 'time__now', description: '[time] The current time', inputSchema: { type: 'object' } }
];

const principal: Principal = { kind: 'token', id: 'ci', admin: false, tools: ['git__log', 'time__*'] };

function searchTools(): SearchTools {
  return new SearchTools({
    tools: () => Promise.resolve(TOOLS),
    // Like CallRunner.allows: a principal with tool globs sees only those.
    allows: (caller, name) => caller === undefined || name !== 'git__push'
  });
}

const ok: DirectCall = name => Promise.resolve({ content: [{ type: 'text', text: `ran ${name}` }] });
const notCalled: DirectCall = () => Promise.reject(new Error('the direct path was taken'));
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('SearchTools', () => {
  it('answers the best matches with their names, descriptions and schemas', async () => {
    const result = await searchTools().call('search_tools', { query: 'commit log' }, undefined, notCalled);
    expect(result.isError).toBeUndefined();
    const tools = (result.structuredContent as { tools: Tool[] }).tools;
    expect(tools[0]).toEqual({
      name: 'git__log',
      description: '[git] Shows the commit log',
      inputSchema: { type: 'object' }
    });
    expect(JSON.parse(textOf(result))).toEqual(tools);
  });

  it('searches only among the tools the caller may see', async () => {
    const result = await searchTools().call('search_tools', { query: 'push commits' }, principal, notCalled);
    expect((result.structuredContent as { tools: Tool[] }).tools.map(tool => tool.name)).toEqual([
      'git__log'
    ]);
  });

  it.each([
    [{}, /needs a query/],
    [{ query: '   ' }, /needs a query/],
    [{ query: 42 }, /needs a query/],
    [
      { query: 'x'.repeat(10_000) },
      new RegExp(`10000 characters long, over the limit of ${MAX_QUERY_LENGTH};`)
    ],
    [{ query: 'log', limit: 0 }, /limit must be a whole number from 1 to 20/],
    [{ query: 'log', limit: 21 }, /limit must be/],
    [{ query: 'log', limit: 2.5 }, /limit must be/]
  ])('refuses the search arguments %j with a tool error', async (args, message) => {
    const result = await searchTools().call('search_tools', args, undefined, notCalled);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it('says so when nothing matches, without an error', async () => {
    const result = await searchTools().call('search_tools', { query: 'zebra' }, undefined, notCalled);
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({ tools: [] });
    expect(textOf(result)).toMatch(/No tool matches "zebra"/);
  });

  it('calls the named tool through the direct path, with its arguments', async () => {
    const calls: unknown[] = [];
    const direct: DirectCall = (name, args) => {
      calls.push([name, args]);
      return ok(name, args);
    };
    const result = await searchTools().call(
      'call_tool',
      { name: 'git__log', arguments: { n: 1 } },
      undefined,
      direct
    );
    expect(textOf(result)).toBe('ran git__log');
    expect(calls).toEqual([['git__log', { n: 1 }]]);
  });

  it.each([
    [{}, /call_tool needs the name of a tool/],
    [{ name: '' }, /call_tool needs the name of a tool/],
    [{ name: 'git__log', arguments: [1] }, /arguments of git__log must be a JSON object/]
  ])('refuses the call arguments %j with a tool error', async (args, message) => {
    const result = await searchTools().call('call_tool', args, undefined, notCalled);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it.each([
    new GatewayError('unknown_tool', 'Unknown tool: nope__x'),
    new GatewayError('forbidden', 'tool git__push is outside the scope of ci')
  ])('turns the direct path refusing the name (%s) into a tool error', async error => {
    const result = await searchTools().call('call_tool', { name: 'nope__x' }, principal, () =>
      Promise.reject(error)
    );
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(`call_tool: ${error.message}. search_tools lists the tools you can call.`);
  });

  it("passes the tool's own failures on as they are", async () => {
    const failure = new GatewayError('server_unavailable', 'git is down');
    await expect(
      searchTools().call('call_tool', { name: 'git__log' }, undefined, () => Promise.reject(failure))
    ).rejects.toBe(failure);
  });
});
