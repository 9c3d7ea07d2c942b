// Types of whole-list.mjs, for its unit test.

/** What wholeList needs of a client: one request, its answer as text. */
export interface TextClient {
  requestText(method: string, params: { cursor?: string }): Promise<string>;
}

export function nextCursorOf(text: string): string | undefined;

export function wholeList(client: TextClient): () => Promise<void>;
