import { isObject } from '../connectors/is-object.js';
import { parseJsonc } from '../import/jsonc.js';
import { ENTRY_NAME, type ClientEntry } from './client-entry.js';

/** A client file the entry cannot be merged into; the message names the file. */
export class ClientFileError extends Error {
  override readonly name = 'ClientFileError';
}

export interface MergedClientConfig {
  readonly text: string;
  /** Whether an entry named `gateway` was there before (it is replaced). */
  readonly replaced: boolean;
  /** Whether the old file had comments, which JSON output cannot keep (the backup has them). */
  readonly droppedComments: boolean;
}

/**
 * The client's config text with the gateway's entry set (under `mcpServers` or `servers`) and,
 * for VS Code, its inputs added when missing. Every other key and server is kept as it was.
 * `existing` undefined: a new file.
 */
export function mergeClientConfig(
  existing: string | undefined,
  entry: ClientEntry,
  file: string
): MergedClientConfig {
  let root: unknown = {};
  let droppedComments = false;
  if (existing !== undefined && existing.trim() !== '') {
    try {
      root = parseJsonc(existing);
    } catch (error) {
      throw new ClientFileError(
        `${file} is not JSON (${(error as Error).message}); fix it or pass another --file`
      );
    }
    try {
      JSON.parse(existing);
    } catch {
      droppedComments = true;
    }
  }
  if (!isObject(root))
    throw new ClientFileError(`${file} does not hold a JSON object; fix it or pass another --file`);
  const servers = root[entry.key] ?? {};
  if (!isObject(servers)) throw new ClientFileError(`${file}: "${entry.key}" is not an object; fix it first`);
  const replaced = servers[ENTRY_NAME] !== undefined;
  const updated: Record<string, unknown> = {
    ...root,
    [entry.key]: { ...servers, [ENTRY_NAME]: entry.entry }
  };
  if (entry.inputs && entry.inputs.length > 0) {
    const inputs = Array.isArray(root.inputs) ? [...(root.inputs as unknown[])] : [];
    for (const input of entry.inputs) {
      if (!inputs.some(known => isObject(known) && known.id === input.id)) inputs.push(input);
    }
    updated.inputs = inputs;
  }
  return { text: `${JSON.stringify(updated, null, 2)}\n`, replaced, droppedComments };
}
