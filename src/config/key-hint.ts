import { z } from 'zod';
import { ConfigFileSchema } from './schema.js';

/** A node of servers.yaml's JSON Schema, as far as the keys of its mappings go. */
interface SchemaNode {
  readonly properties?: Record<string, SchemaNode>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
  readonly allOf?: readonly SchemaNode[];
}

/** Made at the first unknown key, never on a good file's path. */
let schema: SchemaNode | undefined;

/**
 * The key servers.yaml accepts in the mapping at `path` that `key` was most likely meant to be
 * (`prot` → `port`, `idle_timeout` → `idleTimeout`), or undefined when none is close.
 */
export function keyHint(path: readonly (string | number)[], key: string): string | undefined {
  schema ??= z.toJSONSchema(ConfigFileSchema, { io: 'input', unrepresentable: 'any' }) as SchemaNode;
  let nodes = variantsOf(schema);
  for (const segment of path) {
    nodes = nodes.flatMap(node => {
      const next =
        typeof segment === 'number'
          ? node.items
          : (node.properties?.[segment] ??
            (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined));
      return next ? variantsOf(next) : [];
    });
  }
  const known = [...new Set(nodes.flatMap(node => Object.keys(node.properties ?? {})))];
  return closest(key, known);
}

/** A node and the alternatives it stands for (a union's variants). */
function variantsOf(node: SchemaNode): SchemaNode[] {
  const alternatives = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])];
  return [node, ...alternatives.flatMap(variantsOf)];
}

/** The known key equal to `key` but for case, `_` and `-`, else the nearest within a typo or two. */
function closest(key: string, known: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[-_]/g, '');
  const same = known.find(candidate => plain(candidate) === plain(key));
  if (same !== undefined) return same;
  const allowed = key.length <= 4 ? 1 : 2;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(plain(key), plain(candidate));
    if (distance <= allowed && (best === undefined || distance < best.distance))
      best = { key: candidate, distance };
  }
  return best?.key;
}

/** Edit distance, a swap of two neighbours counting as one edit (`prot` → `port`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
