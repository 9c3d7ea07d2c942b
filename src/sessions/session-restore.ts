import type { AuthInfo, JSONRPCMessage, Server } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
import type { SessionState, StoredSession } from '../store/session-store.js';
import type { BoundedEventStore } from './bounded-event-store.js';
import { RestorableTransport } from './restorable-transport.js';

/** A session rebuilt from the store, and what of its state could be restored. */
export interface RestoredSession {
  readonly transport: RestorableTransport;
  readonly state: SessionState;
}

/**
 * Rebuilds a stored 2025-era session on a fresh `server`: a transport that answers to the stored id
 * and has replayed, through `server`, the session's `initialize` (client info, capabilities,
 * protocol version), its `notifications/initialized`, its `logging/setLevel`, and a
 * `resources/subscribe` for each of its subscriptions, all as `auth`'s principal, so that every
 * check a live request meets applies again. A subscription the server now refuses (the resource is
 * gone, or out of the principal's scope) is dropped with a warning; any other failure rejects, and
 * the transport is closed. `events` starts empty: what the streams carried before the restart is gone.
 */
export async function restoreSession(
  stored: StoredSession,
  server: Server,
  options: {
    auth: AuthInfo | undefined;
    events: BoundedEventStore;
    retryMs: number;
    log: Logger;
    /** Called when the transport closes (set before `server` connects, which chains its own after it). */
    onclose: () => void;
  }
): Promise<RestoredSession> {
  const transport = new RestorableTransport({
    sessionIdGenerator: () => stored.id,
    eventStore: options.events,
    retryInterval: options.retryMs
  });
  transport.onclose = options.onclose;
  await server.connect(transport);
  try {
    let nextId = 0;
    const request = (method: string, params: Record<string, unknown>): JSONRPCMessage => ({
      jsonrpc: '2.0',
      id: `restore-${nextId++}`,
      method,
      params
    });
    const initialized = await transport.replay(
      request('initialize', {
        protocolVersion: stored.protocolVersion,
        capabilities: stored.capabilities ?? {},
        clientInfo: stored.clientInfo ?? { name: 'unknown', version: '0' }
      }),
      { authInfo: options.auth }
    );
    if (!initialized || !('result' in initialized)) {
      throw new Error(`the replayed initialize was refused: ${JSON.stringify(initialized?.error)}`);
    }
    const protocolVersion = (initialized.result as { protocolVersion?: string }).protocolVersion;
    const replayed = { authInfo: options.auth, protocolVersion };
    await transport.replay({ jsonrpc: '2.0', method: 'notifications/initialized' }, replayed);
    let logLevel: string | undefined;
    if (stored.logLevel !== undefined) {
      const answer = await transport.replay(
        request('logging/setLevel', { level: stored.logLevel }),
        replayed
      );
      if (answer && 'result' in answer) logLevel = stored.logLevel;
      else
        options.log.warn(
          { session: stored.id, level: stored.logLevel },
          'could not restore the log level of a session'
        );
    }
    const subscriptions: string[] = [];
    for (const uri of stored.subscriptions) {
      const answer = await transport.replay(request('resources/subscribe', { uri }), replayed);
      if (answer && 'result' in answer) subscriptions.push(uri);
      else {
        options.log.warn(
          { session: stored.id, uri, error: answer && 'error' in answer ? answer.error.message : undefined },
          'could not restore a resource subscription of a session; its client is no longer subscribed'
        );
      }
    }
    // The replayed answers went to no client: nothing of them is to be resumed.
    options.events.clear();
    return { transport, state: { logLevel, subscriptions } };
  } catch (error) {
    await transport.close().catch(() => undefined);
    throw error;
  }
}
