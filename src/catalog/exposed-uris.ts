import type { ContentBlock, Tool } from '@modelcontextprotocol/client';
import { encodeResourceUri } from './resource-uris.js';

/**
 * Where a server names its own resources outside the resource lists, rewritten to the URIs the
 * gateway exposes, so that a client that follows them reads through the gateway: a tool's MCP Apps
 * UI (`_meta.ui.resourceUri`, and the older `_meta["ui/resourceUri"]`), and the `resource_link`
 * and embedded `resource` blocks of tool results and prompt messages. Everything else passes
 * through; a URI the rewrite cannot carry is left as the server wrote it.
 */

const LEGACY_UI_KEY = 'ui/resourceUri';

function expose(namespace: string, uri: string): string {
  return encodeResourceUri({ namespace, uri }) ?? uri;
}

/** `tool` with the UI resource its `_meta` names rewritten. */
export function exposeToolUris(tool: Tool, namespace: string): Tool {
  const meta = tool._meta;
  if (!meta) return tool;
  const ui = meta.ui as { resourceUri?: unknown } | undefined;
  const nested = typeof ui?.resourceUri === 'string';
  const legacy = typeof meta[LEGACY_UI_KEY] === 'string';
  if (!nested && !legacy) return tool;
  return {
    ...tool,
    _meta: {
      ...meta,
      ...(nested ? { ui: { ...ui, resourceUri: expose(namespace, ui.resourceUri as string) } } : {}),
      ...(legacy ? { [LEGACY_UI_KEY]: expose(namespace, meta[LEGACY_UI_KEY] as string) } : {})
    }
  };
}

/**
 * `block` with the resource it links or embeds rewritten; the same object when there is none (a
 * server's result is only loosely checked, so a malformed block passes through untouched).
 */
export function exposeContentUris<T extends ContentBlock>(block: T, namespace: string): T {
  const loose = block as { type: string; uri?: unknown; resource?: { uri?: unknown } };
  if (loose.type === 'resource_link' && typeof loose.uri === 'string') {
    return { ...block, uri: expose(namespace, loose.uri) };
  }
  if (loose.type === 'resource' && typeof loose.resource?.uri === 'string') {
    return { ...block, resource: { ...loose.resource, uri: expose(namespace, loose.resource.uri) } };
  }
  return block;
}
