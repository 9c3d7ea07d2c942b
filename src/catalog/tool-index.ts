import type { Tool } from '@modelcontextprotocol/client';
import { exposeToolUris } from './exposed-uris.js';
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

/** A named item (a tool, a prompt) with an optional description. */
interface Named {
  readonly name: string;
  readonly description?: string | undefined;
}

/** One server's contribution to a {@link buildNameIndex}. */
export interface NamedSource<T extends Named> {
  readonly serverId: string;
  readonly namespace: string;
  /** The server's items, already filtered by its allow/deny lists. */
  readonly items: readonly T[];
}

/** The exposed items of one named kind, and the routes back from their exposed names. */
export interface NameIndex<T extends Named> {
  readonly items: readonly T[];
  readonly routes: ReadonlyMap<string, ToolRoute>;
  readonly collisions: readonly NameCollision[];
}

/**
 * Builds the exposed catalog from each server's tools: a pure function of its input, so the same
 * catalog always gets the same names. See {@link buildNameIndex}; the UI resource a tool's `_meta`
 * names is rewritten like the resource itself ({@link exposeToolUris}).
 */
export function buildToolIndex(sources: readonly IndexSource[]): ToolIndex {
  const { items, routes, collisions } = buildNameIndex(
    sources.map(source => ({
      serverId: source.serverId,
      namespace: source.namespace,
      items: source.tools.map(tool => exposeToolUris(tool, source.namespace))
    }))
  );
  return { tools: items, routes, collisions };
}

/**
 * Builds the exposed list of a named kind (tools, prompts) from each server's items: a pure
 * function of its input, so the same catalog always gets the same names. Names are encoded by
 * {@link encodeToolName}; descriptions get a `[server id] ` prefix; every other field passes
 * through. When two items want one name, the first in (server id, name) order keeps it and the
 * other gets a hashed variant. A route's `tool` is the server's own name of the item.
 */
export function buildNameIndex<T extends Named>(sources: readonly NamedSource<T>[]): NameIndex<T> {
  const routes = new Map<string, ToolRoute>();
  const items: T[] = [];
  const collisions: NameCollision[] = [];
  const ordered = [...sources].sort((a, b) => compare(a.serverId, b.serverId));
  for (const source of ordered) {
    const sorted = [...source.items].sort((a, b) => compare(a.name, b.name));
    for (const item of sorted) {
      const origin = { namespace: source.namespace, tool: item.name };
      const route: ToolRoute = { serverId: source.serverId, tool: item.name };
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
      items.push({ ...item, name, description: describedBy(source.serverId, item.description) });
    }
  }
  return { items, routes, collisions };
}

/** A description with the `[server id] ` prefix every exposed item gets. */
export function describedBy(serverId: string, description: string | undefined): string {
  return `[${serverId}] ${description ?? ''}`.trimEnd();
}

/** Orders strings by code unit, the same on every machine (no locale). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
