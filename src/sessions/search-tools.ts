import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import { ToolSearchIndex } from '../catalog/tool-search.js';
import { GatewayError } from '../errors.js';

/** What a client is shown of the gateway's tools: every tool, or the two of tool search. */
export type Expose = 'all' | 'search';

/** The most tools one `search_tools` answers. */
export const MAX_SEARCH_LIMIT = 20;
/** Tools a `search_tools` answers when its `limit` is left out. */
const DEFAULT_SEARCH_LIMIT = 5;
/**
 * The longest query read. A longer one is refused (a tool error), not cut: a cut query would answer
 * for words its writer did not see weighed, and a search is a few words.
 */
export const MAX_QUERY_LENGTH = 1000;

/** The two tools an `expose: search` client is listed, instead of every tool. */
export const SEARCH_TOOLS: readonly Tool[] = [
  {
    name: 'search_tools',
    title: 'Search tools',
    description:
      "Finds the gateway's tools that fit a task, best first, with each one's description and input schema. Call one of them with call_tool.",
    inputSchema: {
      type: 'object',
      properties: {
        query: {
          type: 'string',
          minLength: 1,
          maxLength: MAX_QUERY_LENGTH,
          description: 'What you want to do, in a few words (e.g. "open a pull request")'
        },
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: MAX_SEARCH_LIMIT,
          description: `At most this many tools (default ${DEFAULT_SEARCH_LIMIT})`
        }
      },
      required: ['query']
    },
    outputSchema: {
      type: 'object',
      properties: {
        tools: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              description: { type: 'string' },
              inputSchema: { type: 'object' }
            },
            required: ['name', 'inputSchema']
          }
        }
      },
      required: ['tools']
    },
    annotations: { readOnlyHint: true, openWorldHint: false }
  },
  {
    name: 'call_tool',
    title: 'Call a tool',
    description:
      'Calls a tool that search_tools found, by its name, with arguments that fit its input schema, and answers with its result.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, description: 'The tool name, as search_tools gave it' },
        arguments: { type: 'object', description: "The tool's arguments, as its input schema asks" }
      },
      required: ['name']
    }
  }
];

/** Runs a call of a real tool the way a direct `tools/call` of it runs (scope, schema, limits, history). */
export type DirectCall = (name: string, args: Record<string, unknown> | undefined) => Promise<CallToolResult>;

export interface SearchToolsOptions {
  /** The tools a search looks among (the exposed list; its identity keys the index). */
  readonly tools: () => Promise<readonly Tool[]>;
  /** Whether `principal` may see and call the tool of exposed name `name`. */
  readonly allows: (principal: Principal | undefined, name: string) => boolean;
}

/**
 * `search_tools` and `call_tool`: the tools of an `expose: search` client. A search reads the
 * catalog's stored list only (no server starts); `call_tool` hands the real tool's name to the
 * direct call path, so it is checked, limited and recorded under that name. Mistakes in either
 * tool's arguments (an empty or over-long query, an unknown or out-of-scope tool) are tool errors
 * (`isError`), as MCP asks of input errors, so a model can read them and try again.
 */
export class SearchTools {
  constructor(private readonly options: SearchToolsOptions) {}

  /** Whether `name` is one of the two tools. */
  handles(name: string): boolean {
    return name === 'search_tools' || name === 'call_tool';
  }

  async call(
    name: string,
    args: Record<string, unknown> | undefined,
    principal: Principal | undefined,
    direct: DirectCall
  ): Promise<CallToolResult> {
    return name === 'search_tools' ? this.search(args ?? {}, principal) : this.callTool(args ?? {}, direct);
  }

  private async search(
    args: Record<string, unknown>,
    principal: Principal | undefined
  ): Promise<CallToolResult> {
    const { query, limit = DEFAULT_SEARCH_LIMIT } = args;
    if (typeof query !== 'string' || query.trim() === '') {
      return toolError(
        'search_tools needs a query: a few words saying what you want to do (e.g. "list open issues")'
      );
    }
    if (query.length > MAX_QUERY_LENGTH) {
      return toolError(
        `search_tools: the query is ${query.length} characters long, over the limit of ${MAX_QUERY_LENGTH}; say in a few words what you want to do`
      );
    }
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      return toolError(`search_tools: limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    const all = await this.options.tools();
    const found = ToolSearchIndex.of(all)
      .search(query, limit, tool => this.options.allows(principal, tool.name))
      .map(tool => ({
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        inputSchema: tool.inputSchema
      }));
    const text =
      found.length > 0
        ? JSON.stringify(found)
        : `No tool matches "${query}". Try other words: what the tool acts on (issue, file, table) and what it does (create, list, delete).`;
    return { content: [{ type: 'text', text }], structuredContent: { tools: found } };
  }

  private async callTool(args: Record<string, unknown>, direct: DirectCall): Promise<CallToolResult> {
    const { name, arguments: callArgs } = args;
    if (typeof name !== 'string' || name === '') {
      return toolError('call_tool needs the name of a tool: find one with search_tools');
    }
    if (
      callArgs !== undefined &&
      (typeof callArgs !== 'object' || callArgs === null || Array.isArray(callArgs))
    ) {
      return toolError(`call_tool: the arguments of ${name} must be a JSON object`);
    }
    try {
      return await direct(name, callArgs as Record<string, unknown> | undefined);
    } catch (error) {
      // The caller named a tool it cannot have: its mistake to correct. Failures of the tool or its
      // server pass on as they would from a direct call.
      if (error instanceof GatewayError && (error.code === 'unknown_tool' || error.code === 'forbidden')) {
        return toolError(`call_tool: ${error.message}. search_tools lists the tools you can call.`);
      }
      throw error;
    }
  }
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}
