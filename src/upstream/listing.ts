import type {
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

/** The items of one kind. */
export type ListedItem<K extends CapabilityKind> = Listing[K][number];

/** A server that lists nothing. */
export const EMPTY_LISTING: Listing = { tools: [], prompts: [], resources: [], resourceTemplates: [] };
