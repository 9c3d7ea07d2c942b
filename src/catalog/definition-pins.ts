import { createHash } from 'node:crypto';
import type { Pin, PinKind } from '../store/pin-store.js';
import type { Listing } from '../upstream/listing.js';

/**
 * Pinned definitions, as pure functions: what a server's tool, prompt or resource template is (its
 * canonical JSON and hash), how a listing compares with what was approved, and how two definitions
 * differ. Static resources are not pinned: they are data a server may list differently at every
 * call (files, rows), not instructions to the model, and pinning them would quarantine all the time.
 */

/** `trust:` of a server: `auto` approves what it offers on its first discovery; `manual` nothing. */
export type Trust = 'auto' | 'manual';

/** A kind of listed item that is pinned. */
export type DefinitionKind = Exclude<PinKind, 'image'>;

/**
 * Fields left out of a definition: `_meta` is protocol metadata a server may vary from one listing
 * to the next (trace ids, cache hints) and that no model reads. Everything else a server lists
 * (name, title, description, schemas, annotations, icons, arguments, mimeType…) is pinned.
 */
const VOLATILE_FIELDS: ReadonlySet<string> = new Set(['_meta']);

/** One listed item as it is pinned. */
export interface Definition {
  readonly kind: DefinitionKind;
  /** The server's own name (a template's URI template). */
  readonly name: string;
  /** Canonical JSON: keys sorted, volatile fields left out, two-space indented. */
  readonly canonical: string;
  readonly hash: string;
}

/** An item held back: changed since it was approved, or new on a server with `trust: manual`. */
export interface Held {
  readonly kind: PinKind;
  readonly name: string;
  readonly reason: 'changed' | 'new';
  /** The approved definition (canonical JSON); null for a new item. */
  readonly pinned: string | null;
  /** The definition the server offers now (canonical JSON). */
  readonly current: string;
  /** The hash of `current`: what an approval pins. */
  readonly hash: string;
  /** `pinned` → `current`, line by line (`- `, `+ `, `  `). */
  readonly diff: string;
  /** The top-level fields that differ (`description`, `inputSchema`…); every field for a new item. */
  readonly fields: readonly string[];
}

/** `value` as canonical JSON: object keys sorted at every depth, two-space indented. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map(key => [key, sortKeys((value as Record<string, unknown>)[key])])
  );
}

export function hashOf(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}

/** The definition of one listed item. */
export function definitionOf(kind: DefinitionKind, name: string, item: object): Definition {
  const kept = Object.fromEntries(Object.entries(item).filter(([key]) => !VOLATILE_FIELDS.has(key)));
  const canonical = canonicalJson(kept);
  return { kind, name, canonical, hash: hashOf(canonical) };
}

/** Every pinned definition of `listing` (static resources are not pinned; see above). */
export function definitionsOf(
  listing: Pick<Listing, 'tools' | 'prompts' | 'resourceTemplates'>
): Definition[] {
  return [
    ...listing.tools.map(tool => definitionOf('tool', tool.name, tool)),
    ...listing.prompts.map(prompt => definitionOf('prompt', prompt.name, prompt)),
    ...listing.resourceTemplates.map(template =>
      definitionOf('resourceTemplate', template.uriTemplate, template)
    )
  ];
}

/** What a review found: the items held back, and the pins to add now (`trust: auto`, first seen). */
export interface Review {
  readonly held: readonly Held[];
  readonly pin: readonly Pin[];
}

/**
 * Compares what a server lists with its pins. An item whose hash matches its pin is served; one
 * with a different hash is held (`changed`), whatever the trust; one with no pin is pinned at once
 * under `trust: auto` and held (`new`) under `trust: manual`.
 */
export function review(
  definitions: readonly Definition[],
  pins: readonly Pin[],
  trust: Trust,
  now: string
): Review {
  const byKey = new Map(pins.map(pin => [pinKey(pin.kind, pin.name), pin]));
  const held: Held[] = [];
  const pin: Pin[] = [];
  for (const definition of definitions) {
    const pinned = byKey.get(pinKey(definition.kind, definition.name));
    if (pinned?.hash === definition.hash) continue;
    if (pinned === undefined && trust === 'auto') {
      pin.push({
        kind: definition.kind,
        name: definition.name,
        hash: definition.hash,
        definition: definition.canonical,
        approvedAt: now,
        approvedBy: 'auto'
      });
      continue;
    }
    held.push(
      heldItem(
        definition.kind,
        definition.name,
        pinned?.definition ?? null,
        definition.canonical,
        definition.hash
      )
    );
  }
  return { held, pin };
}

/** A held item, with its difference from what was approved. */
export function heldItem(
  kind: PinKind,
  name: string,
  pinned: string | null,
  current: string,
  hash: string
): Held {
  return {
    kind,
    name,
    reason: pinned === null ? 'new' : 'changed',
    pinned,
    current,
    hash,
    diff: lineDiff(pinned ?? '', current),
    fields: changedFields(pinned, current)
  };
}

/** The key of a pin or held item within one server. */
export function pinKey(kind: PinKind, name: string): string {
  return `${kind}:${name}`;
}

/** The top-level fields of two canonical JSON objects that differ (all of `current`'s when there was none). */
function changedFields(pinned: string | null, current: string): string[] {
  const parse = (text: string | null): Record<string, unknown> => {
    try {
      const value: unknown = text === null ? {} : JSON.parse(text);
      return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const before = parse(pinned);
  const after = parse(current);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter(key => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/**
 * The lines of `before` and `after`, each marked `  ` (in both), `- ` (only before) or `+ ` (only
 * after), in order: a longest-common-subsequence diff, fine for definitions of a few hundred lines.
 */
export function lineDiff(before: string, after: string): string {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] =
        a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push(`  ${a[i++]}`);
      j++;
    } else if (common[i + 1]![j]! >= common[i]![j + 1]!) lines.push(`- ${a[i++]}`);
    else lines.push(`+ ${b[j++]}`);
  }
  while (i < a.length) lines.push(`- ${a[i++]}`);
  while (j < b.length) lines.push(`+ ${b[j++]}`);
  return lines.join('\n');
}
