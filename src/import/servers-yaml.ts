import { Document, isMap, isSeq, parseDocument, visit, type Node } from 'yaml';
import type { ImportPlan } from './plan-import.js';

/** A config the entries cannot be merged into; the message says why and what to do. */
export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/** The plan as a whole servers.yaml (`servers:` and its entries). */
export function renderImport(plan: ImportPlan, source: string): string {
  const doc = new Document({ servers: Object.fromEntries(plan.entries.map(({ id, entry }) => [id, entry])) });
  flowSequences(doc);
  doc.commentBefore = ` Imported from ${source} by mcp-gateway import. Check it with: mcp-gateway validate`;
  return doc.toString({ lineWidth: 0 });
}

/**
 * `text` (an existing servers.yaml) with the plan's entries added under `servers:`, its comments
 * and order kept. Refuses, naming them, ids that are already there: nothing is replaced.
 */
export function mergeImport(text: string, plan: ImportPlan, file: string): string {
  let doc = parseDocument(text);
  // An empty file (or one of comments only) has no mapping to add to yet.
  if (doc.errors.length === 0 && doc.contents === null) doc = parseDocument(`${text}\nservers: {}\n`);
  if (doc.errors.length > 0) {
    throw new MergeError(
      `${file} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix it first`
    );
  }
  if (!isMap(doc.contents))
    throw new MergeError(`${file}: expected a mapping with "servers:" at the top level`);
  let servers = doc.get('servers', true);
  if (servers === undefined || servers === null || (servers as { value?: unknown }).value === null) {
    doc.set('servers', doc.createNode({}));
    servers = doc.get('servers', true);
  }
  if (!isMap(servers))
    throw new MergeError(`${file}: "servers" is not a mapping of server id to its settings`);
  const clashes = plan.entries.filter(({ id }) => servers.has(id));
  if (clashes.length > 0) {
    const list = clashes
      .map(({ id, from }) => (id === from.name ? id : `${id} (from "${from.name}")`))
      .join(', ');
    throw new MergeError(
      `${file} already has server${clashes.length > 1 ? 's' : ''} ${list}; nothing was written. ` +
        'Rename or remove them there, or rename them in the imported file, then import again.'
    );
  }
  servers.flow = false;
  for (const { id, entry } of plan.entries) {
    const node = doc.createNode(entry);
    flowSequences(node);
    servers.add(doc.createPair(id, node));
  }
  return doc.toString({ lineWidth: 0 });
}

/** Lists (`command`, `volumes`) on one line each, as the README writes them. */
function flowSequences(root: Document | Node): void {
  visit(root, {
    Seq(_key, node) {
      if (isSeq(node)) node.flow = true;
    }
  });
}
