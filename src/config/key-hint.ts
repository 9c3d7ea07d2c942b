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
 * Keys that MCP clients' configs (Claude Desktop, Cline, Windsurf, Gemini CLI, …) use where
 * servers.yaml has another, with what a user copying an entry needs to know beyond the name.
 */
const SYNONYMS: Record<string, { readonly key: string; readonly note?: string }> = {
  disabled: { key: 'enabled', note: 'disabled: true is enabled: false here' },
  timeout: { key: 'callTimeout', note: "in seconds here (Gemini CLI's timeout is milliseconds)" },
  cmd: { key: 'command' },
  environment: { key: 'env' },
  serverurl: { key: 'url' },
  httpurl: { key: 'url' },
  workingdirectory: { key: 'cwd' }
};

/**
 * What to say of `key`, unknown in the mapping at `path`: the key servers.yaml accepts there that
 * it was most likely meant to be (`prot` → `port`, `idle_timeout` → `idleTimeout`, a client
 * config's `disabled` → `enabled`), as `did you mean "port"?`, or undefined when none is close.
 */
export function keyHint(path: readonly (string | number)[], key: string): string | undefined {
  const known = knownKeys(path);
  const synonym = SYNONYMS[plain(key)];
  if (synonym && known.includes(synonym.key)) {
    return `did you mean "${synonym.key}"?${synonym.note === undefined ? '' : ` ${synonym.note}`}`;
  }
  const closest = closestKey(key, known);
  return closest === undefined ? undefined : `did you mean "${closest}"?`;
}

/** The keys servers.yaml accepts in the mapping at `path`. */
function knownKeys(path: readonly (string | number)[]): string[] {
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
  return [...new Set(nodes.flatMap(node => Object.keys(node.properties ?? {})))];
}

/** A node and the alternatives it stands for (a union's variants). */
function variantsOf(node: SchemaNode): SchemaNode[] {
  const alternatives = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])];
  return [node, ...alternatives.flatMap(variantsOf)];
}

/** The known key equal to `key` but for case, `_` and `-`, else the nearest within a typo or two. */
function closestKey(key: string, known: readonly string[]): string | undefined {
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

/** A key as compared: case, `_` and `-` ignored. */
function plain(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
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
