import type { FetchLike } from '@modelcontextprotocol/client';
import { describeUrl, type RemoteFailures } from './remote-failures.js';

/** What a server answered the probe: JSON-RPC over POST, or `other` (what came back instead). */
export type ProbeAnswer = { readonly kind: 'mcp' } | { readonly kind: 'other'; readonly answer: string };

/** Redirects of a POST that keep it a POST, and how many the probe follows. */
const REDIRECTS_KEEPING_POST = new Set([307, 308]);
const MAX_REDIRECTS = 5;

/** A request any MCP server understands and none acts on; it opens no session. */
const PING = JSON.stringify({ jsonrpc: '2.0', id: 'mcp-gateway-probe', method: 'ping' });

/**
 * Asks `url` whether it speaks MCP over Streamable HTTP, before the upstream's handshake: a POST
 * of a `ping`. Any JSON-RPC answer (a result, or an error such as a stateful server's "no session")
 * is MCP, and so is a 401 when an OAuth provider will answer it; 401, 403 and 5xx throw what `failures` makes of them; other answers (a 404 or 405 of a
 * server that speaks only HTTP+SSE, an HTML page) come back as `other`. Bounded by `deadline`,
 * body included, so a server that sends headers and then nothing fails here, not in the handshake.
 */
export async function probeStreamableHttp(
  fetch: FetchLike,
  url: URL,
  headers: Headers,
  deadline: AbortSignal,
  failures: RemoteFailures,
  /** An OAuth provider answers a 401 (during the handshake): then 401 is no failure here. */
  oauth: boolean
): Promise<ProbeAnswer> {
  const sent = new Headers(headers);
  sent.set('content-type', 'application/json');
  sent.set('accept', 'application/json, text/event-stream');
  let response: Response;
  for (let at = url, followed = 0; ; followed++) {
    try {
      response = await fetch(at, {
        method: 'POST',
        headers: sent,
        body: PING,
        signal: deadline,
        redirect: 'manual'
      });
    } catch (error) {
      throw failures.network(error, deadline.aborted);
    }
    // As the SDK's transports do (redirectPolicy 'same-origin'): a POST follows a 307 or 308 within
    // the origin; one to another origin is not followed, as the headers (a token) would go there.
    const location = response.headers.get('location');
    if (!REDIRECTS_KEEPING_POST.has(response.status) || location === null || followed === MAX_REDIRECTS)
      break;
    const next = new URL(location, at);
    await response.body?.cancel().catch(() => undefined);
    if (next.origin !== url.origin) {
      throw failures.invalid(
        `it redirects to another origin (${describeUrl(next)}), which the gateway does not follow (its headers would go there); put the URL to use in url:`
      );
    }
    at = next;
  }
  const type = response.headers.get('content-type') ?? '';
  const status = `HTTP ${response.status}${type === '' ? '' : ` (${type.split(';')[0]})`}`;
  let body: string;
  try {
    body = type.startsWith('text/event-stream') ? await firstEventData(response) : await response.text();
  } catch (error) {
    if (deadline.aborted) throw failures.silent(`answered ${status} and then sent nothing`);
    throw failures.network(error, false);
  }
  if (response.status === 401 && oauth) return { kind: 'mcp' };
  const refused = failures.status(response.status, response.statusText, body);
  if (refused) throw refused;
  if (isJsonRpc(body)) return { kind: 'mcp' };
  const what = type.startsWith('text/html') ? `an HTML page, ${status}` : status;
  return { kind: 'other', answer: `a POST got ${what}` };
}

/** Whether `text` is one JSON-RPC message or a batch of them. */
function isJsonRpc(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    const first: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
    return typeof first === 'object' && first !== null && (first as { jsonrpc?: unknown }).jsonrpc === '2.0';
  } catch {
    return false;
  }
}

/** The data of the stream's first event that has any (a priming event has none); `''` at its end. */
async function firstEventData(response: Response): Promise<string> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) return '';
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return '';
      buffered += value;
      const events = buffered.split(/\r?\n\r?\n/);
      buffered = events.pop() ?? '';
      for (const event of events) {
        const data = event
          .split(/\r?\n/)
          .filter(line => line.startsWith('data:'))
          .map(line => line.slice(5).trimStart())
          .join('\n');
        if (data !== '') return data;
      }
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
