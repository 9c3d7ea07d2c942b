import type {
  Client,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool
} from '@modelcontextprotocol/client';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/** The kinds of capability a server lists, each with its own list method and `list_changed`. */
export type CapabilityKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/** Every kind, in the order they are listed after a start. */
export const CAPABILITY_KINDS: readonly CapabilityKind[] = [
  'tools',
  'prompts',
  'resources',
  'resourceTemplates'
];

/** What a server lists of each kind, as the server defines it. */
export interface Listing {
  readonly tools: readonly Tool[];
  readonly prompts: readonly Prompt[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
}

/** A server that lists nothing. */
export const EMPTY_LISTING: Listing = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

/** Every item of `kind` (all pages), or none when the server does not offer the kind. */
export async function listKind(client: Client, kind: CapabilityKind): Promise<Listing[CapabilityKind]> {
  const offered = client.getServerCapabilities();
  switch (kind) {
    case 'tools':
      return offered?.tools ? (await client.listTools()).tools : [];
    case 'prompts':
      return offered?.prompts ? (await client.listPrompts()).prompts : [];
    case 'resources':
      return offered?.resources ? (await client.listResources()).resources : [];
    case 'resourceTemplates':
      return offered?.resources ? (await client.listResourceTemplates()).resourceTemplates : [];
  }
}

/**
 * {@link listKind} for discovery: a server whose prompts or resources fail to list (a low-level
 * server advertising `resources` but answering resources/templates/list with -32601, say) keeps its
 * other kinds, that one listed as empty with a warning. Tools are what a server is for: their
 * failure still fails the discovery.
 */
export async function listKindOrNone(
  client: Client,
  kind: CapabilityKind,
  log: Logger
): Promise<Listing[CapabilityKind]> {
  if (kind === 'tools') return listKind(client, kind);
  try {
    return await listKind(client, kind);
  } catch (error) {
    log.warn(
      { err: describeError(error), kind },
      `listing ${kind} failed; the server's ${kind} are left out until it lists them again (its list_changed or a restart)`
    );
    return [];
  }
}
