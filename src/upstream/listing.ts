import type {
  Client,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool
} from '@modelcontextprotocol/client';

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
