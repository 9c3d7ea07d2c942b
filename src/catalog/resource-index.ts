import type { Resource, ResourceTemplateType } from '@modelcontextprotocol/client';
import { encodeResourceTemplate, encodeResourceUri } from './resource-uris.js';
import { compare, describedBy } from './tool-index.js';

/** One server's resources and templates, already filtered by its allow/deny lists. */
export interface ResourceSource {
  readonly serverId: string;
  readonly namespace: string;
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplateType[];
}

/** A URI or template the rewrite cannot carry back to its server (not absolute, a variable in its scheme): left out. */
export interface DroppedUri {
  readonly serverId: string;
  readonly uri: string;
}

export interface ResourceIndex {
  /** Exposed resources, in a stable order (server id, then URI). */
  readonly resources: readonly Resource[];
  /** Exposed resource templates, in the same order (by URI template). */
  readonly resourceTemplates: readonly ResourceTemplateType[];
  readonly dropped: readonly DroppedUri[];
}

/**
 * Builds the exposed resources and templates: URIs rewritten by {@link encodeResourceUri},
 * descriptions prefixed like tools', every other field passed through. There is no routing table:
 * a read is routed by decoding its URI.
 */
export function buildResourceIndex(sources: readonly ResourceSource[]): ResourceIndex {
  const resources: Resource[] = [];
  const resourceTemplates: ResourceTemplateType[] = [];
  const dropped: DroppedUri[] = [];
  const listed = new Set<string>();
  const expose = (source: ResourceSource, uri: string, encode = encodeResourceUri) => {
    const exposed = encode({ namespace: source.namespace, uri });
    if (exposed === undefined) dropped.push({ serverId: source.serverId, uri });
    return exposed;
  };
  for (const source of [...sources].sort((a, b) => compare(a.serverId, b.serverId))) {
    for (const resource of [...source.resources].sort((a, b) => compare(a.uri, b.uri))) {
      const uri = expose(source, resource.uri);
      // Servers sharing a namespace may list the same URI: it is one resource, the first server's
      // (the one a read of it reaches, see Catalog.resolveResource).
      if (uri !== undefined && !listed.has(uri)) {
        listed.add(uri);
        resources.push({ ...resource, uri, description: describedBy(source.serverId, resource.description) });
      }
    }
    const templates = [...source.resourceTemplates].sort((a, b) => compare(a.uriTemplate, b.uriTemplate));
    for (const template of templates) {
      const uriTemplate = expose(source, template.uriTemplate, encodeResourceTemplate);
      if (uriTemplate !== undefined) {
        resourceTemplates.push({
          ...template,
          uriTemplate,
          description: describedBy(source.serverId, template.description)
        });
      }
    }
  }
  return { resources, resourceTemplates, dropped };
}
