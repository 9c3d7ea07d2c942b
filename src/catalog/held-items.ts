import { UriTemplate } from '@modelcontextprotocol/server';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Held } from './definition-pins.js';
import type { PinnedServer } from './pin-keeper.js';

/** How the catalog speaks of held items: the server as the pin keeper knows it, and their errors. */

/** A server as the pin keeper knows it. */
export function pinnedServer({ spec }: Upstream): PinnedServer {
  return {
    id: spec.id,
    namespace: spec.namespace,
    trust: spec.trust ?? 'auto',
    image: spec.kind === 'docker' ? spec.image : undefined
  };
}

/** What a request to a held item fails with: what changed, and the command that approves it. */
export function quarantinedError(serverId: string, item: Held): GatewayError {
  const what =
    item.reason === 'changed'
      ? `changed since it was approved (${item.fields.join(', ')} differ${item.fields.length === 1 ? 's' : ''}) and is quarantined`
      : 'is new on a server with trust: manual and is held until approved';
  return new GatewayError(
    'quarantined',
    `${item.kind} ${item.name} of server ${serverId} ${what}. Review the difference (GET /api/quarantine or the dashboard) and approve it with: mcp-gateway approve ${serverId} ${quoteArg(item.name)}`,
    { serverId, detail: { item: item.name, kind: item.kind } }
  );
}

/** `text` as one shell word. */
export function quoteArg(text: string): string {
  return /^[A-Za-z0-9_.:/=@+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Whether URI template `template` matches `uri`; a template the SDK cannot parse matches nothing. */
export function templateMatches(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    return false;
  }
}
