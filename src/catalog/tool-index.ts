import type { Tool } from '@modelcontextprotocol/client';
import { encodeToolName, joinName } from './tool-names.js';

/** One server's contribution to the index. */
export interface IndexSource {
  readonly serverId: string;
  readonly namespace: string;
  /** The server's tools, already filtered by its allow/deny lists. */
  readonly tools: readonly Tool[];
}

/** Where an exposed name leads. */
export interface ToolRoute {
  readonly serverId: string;
  /** The server's own name for the tool. */
  readonly tool: string;
}

/** Two tools that wanted the same exposed name, and what the later one got instead. */
export interface NameCollision {
  readonly name: string;
  readonly kept: ToolRoute;
  readonly renamed: ToolRoute & { readonly as: string };
}

export interface ToolIndex {
  /** Exposed tool definitions, in a stable order (server id, then tool name). */
  readonly tools: readonly Tool[];
  readonly routes: ReadonlyMap<string, ToolRoute>;
  readonly collisions: readonly NameCollision[];
}

/**
 * Builds the exposed catalog from each server's tools: a pure function of its input, so the same
 * catalog always gets the same names. Names are encoded by {@link encodeToolName}; descriptions get
 * a `[server id] ` prefix; every other field passes through. When two tools want one name, the
 * first in (server id, tool name) order keeps it and the other gets a hashed variant.
 */
export function buildToolIndex(sources: readonly IndexSource[]): ToolIndex {
  const routes = new Map<string, ToolRoute>();
  const tools: Tool[] = [];
  const collisions: NameCollision[] = [];
  const ordered = [...sources].sort((a, b) => compare(a.serverId, b.serverId));
  for (const source of ordered) {
    const sorted = [...source.tools].sort((a, b) => compare(a.name, b.name));
    for (const tool of sorted) {
      const origin = { namespace: source.namespace, tool: tool.name };
      const route: ToolRoute = { serverId: source.serverId, tool: tool.name };
      let name = encodeToolName(origin);
      const taken = routes.get(name);
      if (taken) {
        let salt = `${source.serverId}\u0000${joinName(origin)}`;
        let renamed = encodeToolName(origin, salt);
        while (routes.has(renamed)) renamed = encodeToolName(origin, (salt += '\u0000'));
        collisions.push({ name, kept: taken, renamed: { ...route, as: renamed } });
        name = renamed;
      }
      routes.set(name, route);
      tools.push({
        ...tool,
        name,
        description: `[${source.serverId}] ${tool.description ?? ''}`.trimEnd()
      });
    }
  }
  return { tools, routes, collisions };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
