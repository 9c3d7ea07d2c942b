import type { Client, McpSubscription, RequestOptions } from '@modelcontextprotocol/client';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The server's own URIs the gateway is subscribed to, and how each era carries them: one
 * `resources/subscribe` per URI on a 2025-era connection, one `subscriptions/listen` stream holding
 * every URI on a 2026-era one (a change opens a new stream and closes the old). The set outlives
 * connections: each start subscribes to all of it again.
 */
export class SubscribedResources {
  private readonly uris = new Set<string>();
  /** On a 2026-era connection: the listen stream carrying {@link uris}. */
  private listen: McpSubscription | undefined;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.uris.size;
  }

  /** Keeps `uri`, once the server has it. */
  add(uri: string): void {
    this.uris.add(uri);
  }

  /** Forgets `uri`; false when it was not kept. */
  delete(uri: string): boolean {
    return this.uris.delete(uri);
  }

  /** Sends one change (`uri` added or removed) on `client`, in its era. Kept URIs are not changed here. */
  async send(
    client: Client,
    uri: string,
    change: 'subscribe' | 'unsubscribe',
    options: RequestOptions
  ): Promise<void> {
    if (client.getProtocolEra() !== 'modern') {
      if (change === 'subscribe') await client.subscribeResource({ uri }, options);
      else await client.unsubscribeResource({ uri }, options);
      return;
    }
    // A listen stream's filter is fixed: a new stream with every URI, then the old one closed.
    const uris = new Set(this.uris);
    if (change === 'subscribe') uris.add(uri);
    else uris.delete(uri);
    this.replaceListen(
      uris.size > 0 ? await client.listen({ resourceSubscriptions: [...uris] }, options) : undefined
    );
  }

  /** Subscribes a fresh connection to every kept URI. Not awaited by the start. */
  resubscribe(client: Client): void {
    this.listen = undefined;
    const uris = [...this.uris];
    if (uris.length === 0) return;
    const sent =
      client.getProtocolEra() === 'modern'
        ? client.listen({ resourceSubscriptions: uris }).then(listen => this.replaceListen(listen))
        : Promise.all(uris.map(uri => client.subscribeResource({ uri })));
    sent.catch((error: unknown) =>
      this.log.warn(
        { err: describeError(error), uris },
        'could not subscribe to resources again after a start'
      )
    );
  }

  /** Makes `listen` the listen stream, closing the one it replaces (the last opened wins). */
  private replaceListen(listen: McpSubscription | undefined): void {
    const previous = this.listen;
    this.listen = listen;
    previous?.close().catch(() => undefined);
  }
}
