import type { Client, PriorDiscovery } from '@modelcontextprotocol/client';
import type { Connector, Link, LinkEnd } from '../connectors/connector.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { shuttingDownError } from './request-errors.js';

export interface HandshakeOptions {
  readonly serverId: string;
  readonly connector: Connector;
  /** Bound on opening the link plus the whole handshake, the era probe included. */
  readonly startTimeoutMs: number;
  /** Aborted when the gateway shuts down: an open or a handshake in progress gives up. */
  readonly shutdown: AbortSignal;
  readonly log: Logger;
  /** A new SDK client for one attempt, its handlers registered, not connected yet. */
  readonly newClient: () => Client;
}

/** A connected client, the link it runs over, and the era the server answered in. */
export interface Handshaken {
  readonly client: Client;
  readonly link: Link;
  readonly era: PriorDiscovery;
}

/**
 * The time a server that silently ignores the era probe gets for its 2025-era `initialize`, after
 * the probe has taken all of startTimeout (at most startTimeout itself).
 */
const LEGACY_FALLBACK_MS = 5_000;

/** How long a failed handshake looks for the link's end, to tell an exit from a broken peer. */
const END_GRACE_MS = 200;

/** How long an exit during start waits for the server's last stderr lines, which may trail the exit. */
const STDERR_SETTLE_MS = 100;

/**
 * A start that failed because the connection ended during the handshake (it may not know the
 * probe), saying the last line the server wrote to stderr meanwhile: usually why it quit.
 */
class EndedDuringStart extends GatewayError {
  constructor(serverId: string, end: LinkEnd, lastWords: string | undefined) {
    const said = lastWords === undefined ? '' : `; its last words on stderr: ${JSON.stringify(lastWords)}`;
    super('start_failed', `server ${serverId} exited during start (${end.reason})${said}`, { serverId });
  }
}

/** The last non-blank stderr line `written` gives, once the pipe has had a moment to drain. */
async function lastWordsOf(written: (() => string[]) | undefined): Promise<string | undefined> {
  if (!written) return undefined;
  await new Promise(resolve => setTimeout(resolve, STDERR_SETTLE_MS));
  return written()
    .filter(line => line.trim() !== '')
    .at(-1)
    ?.trim();
}

/**
 * Opens a link and runs the MCP handshake in the era learned earlier (`prior`), or probes for it.
 * A 2025-era server may exit when probed with `server/discover` before `initialize`; then it is
 * started once more and connected as legacy. Rejects with a `GatewayError` naming the server
 * (`start_failed`, or the connector's own); whatever it opened is closed again.
 */
export async function handshakeInEra(
  prior: PriorDiscovery | undefined,
  options: HandshakeOptions
): Promise<Handshaken> {
  if (prior) return handshake(prior, options);
  try {
    return await handshake(undefined, options);
  } catch (error) {
    if (options.shutdown.aborted || !(error instanceof EndedDuringStart)) throw error;
    options.log.info('server exited on the era probe; connecting as a 2025-era server');
    return handshake({ kind: 'legacy' }, options);
  }
}

async function handshake(prior: PriorDiscovery | undefined, options: HandshakeOptions): Promise<Handshaken> {
  const { serverId, startTimeoutMs } = options;
  const written = options.connector.stderrSince?.();
  const link = await options.connector.open(options.shutdown);
  const client = options.newClient();
  // A probe gets all of startTimeout (a slow starter answers it late); on stdio the SDK falls
  // back to `initialize` only once it times out, so a server that ignores it needs time after.
  const fallbackMs = prior ? 0 : Math.min(LEGACY_FALLBACK_MS, startTimeoutMs);
  const bound =
    fallbackMs > 0
      ? `within ${startTimeoutMs / 1000}s (startTimeout), nor ${fallbackMs / 1000}s after it as a 2025-era server that ignores the era probe`
      : `within ${startTimeoutMs / 1000}s (startTimeout)`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatewayError('start_failed', `server ${serverId} did not complete the MCP handshake ${bound}`, {
            serverId
          })
        ),
      startTimeoutMs + fallbackMs
    );
  });
  const shutdown = new Promise<never>((_, reject) => {
    const abort = () => reject(shuttingDownError(serverId));
    if (options.shutdown.aborted) abort();
    else options.shutdown.addEventListener('abort', abort, { once: true });
  });
  try {
    await Promise.race([
      client.connect(link.transport, { timeout: startTimeoutMs, ...(prior ? { prior } : {}) }),
      link.ended.then(async end => {
        throw new EndedDuringStart(serverId, end, await lastWordsOf(written));
      }),
      deadline,
      shutdown
    ]);
  } catch (error) {
    // A closed transport is usually the connection ending, with how it ended a moment behind:
    // look for the end before closing (a close would make any end look requested).
    const end = error instanceof GatewayError ? undefined : await endWithin(link, END_GRACE_MS);
    await client.close().catch(() => undefined);
    await link.close();
    if (error instanceof GatewayError) throw error;
    if (end && !end.requested) throw new EndedDuringStart(serverId, end, await lastWordsOf(written));
    throw new GatewayError(
      'start_failed',
      `server ${serverId} failed the MCP handshake: ${describeError(error)}`,
      {
        cause: error,
        serverId
      }
    );
  } finally {
    clearTimeout(timer);
    shutdown.catch(() => undefined);
  }
  const discover = client.getDiscoverResult();
  const era: PriorDiscovery =
    client.getProtocolEra() === 'modern' && discover ? { kind: 'modern', discover } : { kind: 'legacy' };
  options.log.debug({ label: link.label, era: era.kind }, 'handshake done');
  return { client, link, era };
}

/** The link's end, if it comes within `ms`. */
function endWithin(link: Link, ms: number): Promise<LinkEnd | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    link.ended,
    new Promise<undefined>(resolve => (timer = setTimeout(resolve, ms, undefined)))
  ]).finally(() => clearTimeout(timer));
}
