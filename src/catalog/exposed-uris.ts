import type { ContentBlock, Tool } from '@modelcontextprotocol/client';
import { decodeResourceUri, encodeResourceUri } from './resource-uris.js';

/**
 * Where a server names its own resources outside the resource lists, rewritten to the URIs the
 * gateway exposes, so that a client that follows them reads through the gateway: a tool's MCP Apps
 * UI (`_meta.ui.resourceUri`, and the older `_meta["ui/resourceUri"]`), and the `resource_link`
 * and embedded `resource` blocks of tool results and prompt messages. Everything else passes
 * through. A URI the rewrite cannot carry is left as the server wrote it only when it decodes to
 * the same server; otherwise it is dropped (it would lead a client to another server).
 */

const LEGACY_UI_KEY = 'ui/resourceUri';

/**
 * The URI a client sees for a server's own `uri`: rewritten, or as written when the rewrite cannot
 * carry it but a read of it still reaches the same server; undefined when it would reach another
 * (server `a` writing `1b+c:x`, which decodes to namespace `1b`).
 */
export function exposeUri(namespace: string, uri: string): string | undefined {
  return (
    encodeResourceUri({ namespace, uri }) ??
    (decodeResourceUri(uri).namespace === namespace ? uri : undefined)
  );
}

/** `tool` with the UI resource its `_meta` names rewritten. */
export function exposeToolUris(tool: Tool, namespace: string): Tool {
  const meta = tool._meta;
  if (!meta) return tool;
  const ui = meta.ui as { resourceUri?: unknown } | undefined;
  const nested = typeof ui?.resourceUri === 'string';
  const legacy = typeof meta[LEGACY_UI_KEY] === 'string';
  if (!nested && !legacy) return tool;
  const rewritten: Record<string, unknown> = { ...meta };
  if (nested) {
    const { resourceUri, ...rest } = ui as { resourceUri: string };
    const exposed = exposeUri(namespace, resourceUri);
    rewritten.ui = exposed === undefined ? rest : { ...rest, resourceUri: exposed };
  }
  if (legacy) {
    const exposed = exposeUri(namespace, meta[LEGACY_UI_KEY] as string);
    if (exposed === undefined) delete rewritten[LEGACY_UI_KEY];
    else rewritten[LEGACY_UI_KEY] = exposed;
  }
  return { ...tool, _meta: rewritten };
}

/**
 * `block` with the resource it links or embeds rewritten; the same object when there is none (a
 * server's result is only loosely checked, so a malformed block passes through untouched); undefined
 * when its URI would lead to another server (see {@link exposeUri}): the caller drops the block.
 */
export function exposeContentUris<T extends ContentBlock>(block: T, namespace: string): T | undefined {
  const loose = block as { type: string; uri?: unknown; resource?: { uri?: unknown } };
  if (loose.type === 'resource_link' && typeof loose.uri === 'string') {
    const uri = exposeUri(namespace, loose.uri);
    return uri === undefined ? undefined : { ...block, uri };
  }
  if (loose.type === 'resource' && typeof loose.resource?.uri === 'string') {
    const uri = exposeUri(namespace, loose.resource.uri);
    return uri === undefined ? undefined : { ...block, resource: { ...loose.resource, uri } };
  }
  return block;
}
