import { Client } from '@modelcontextprotocol/client';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { CLIENT_REQUEST_METHODS, UPSTREAM_CLIENT_CAPABILITIES, type ClientAskers } from './client-askers.js';
import { listKind, type CapabilityKind, type Listing } from './listing.js';
import type { LogMessage } from './log-relay.js';

/** How the gateway identifies itself to the servers behind it. */
export interface ClientIdentity {
  readonly name: string;
  readonly version: string;
}

/** What a connection's client hears from the server, passed on while it is the current one. */
export interface ClientEvents {
  /** One kind listed anew, after the server's `list_changed` for it. */
  listed(kind: CapabilityKind, items: Listing[CapabilityKind]): void;
  /** A `notifications/message`. */
  log(message: LogMessage): void;
  /** A `notifications/resources/updated` for `uri` (the server's own URI). */
  resourceUpdated(uri: string): void;
}

export interface UpstreamClientOptions {
  readonly identity: ClientIdentity;
  /** The era probe's bound: startTimeout, since the probe is the first thing a server answers. */
  readonly probeTimeoutMs: number;
  /** Bound on the caller's answer to a request of the server's (sampling, elicitation, roots). */
  readonly callTimeoutMs: number;
  /** The callers of the requests in flight, whom the server's own requests go to. */
  readonly askers: ClientAskers;
  /** True while `client` is the ready connection's: events of any other are dropped. */
  readonly isCurrent: (client: Client) => boolean;
  readonly events: ClientEvents;
  readonly log: Logger;
}

/** How the SDK's protocol layer begins its report of a response whose id no request has. */
const UNKNOWN_ID = 'Received a response for an unknown message ID';

/**
 * A new SDK client for one connection to a server: the gateway's identity and capabilities, era
 * negotiation, list-change handling in both eras (unsolicited `list_changed` on 2025-era
 * connections, a `subscriptions/listen` stream the SDK opens itself on 2026-era ones), and the
 * handlers that pass the server's requests to the callers and its notifications on. Not connected.
 */
export function newUpstreamClient(options: UpstreamClientOptions): Client {
  const { askers, isCurrent, events } = options;
  const client: Client = new Client(
    { name: options.identity.name, version: options.identity.version },
    {
      versionNegotiation: {
        mode: 'auto',
        // A server slow to start (an `npx` download, a JVM) is slow to answer its first message.
        probe: { timeoutMs: options.probeTimeoutMs }
      },
      listChanged: {
        tools: {
          debounceMs: 100,
          onChanged: (error, tools) => {
            if (!error && tools && isCurrent(client)) events.listed('tools', tools);
          }
        },
        prompts: {
          debounceMs: 100,
          onChanged: (error, prompts) => {
            if (!error && prompts && isCurrent(client)) events.listed('prompts', prompts);
          }
        },
        resources: {
          debounceMs: 100,
          onChanged: (error, resources) => {
            if (error || !resources || !isCurrent(client)) return;
            events.listed('resources', resources);
            // One notification covers resources and their templates: list the templates anew.
            listKind(client, 'resourceTemplates').then(
              templates => {
                if (isCurrent(client)) events.listed('resourceTemplates', templates);
              },
              (listError: unknown) =>
                options.log.warn(
                  { err: describeError(listError), kind: 'resourceTemplates' },
                  'listing again failed'
                )
            );
          }
        }
      }
    }
  );
  client.registerCapabilities(UPSTREAM_CLIENT_CAPABILITIES);
  // Everything the SDK reports about the connection (its transport's errors included: it chains
  // them here), which it would otherwise drop without a trace.
  client.onerror = error => {
    if (error.message.startsWith(UNKNOWN_ID)) {
      options.log.info(
        { err: error.message.slice(0, 500) },
        'the server answered a request nobody waits for (late, after a timeout or a cancellation, or a wrong id)'
      );
    } else options.log.warn({ err: error.message.slice(0, 500) }, 'error on the connection to the server');
  };
  for (const method of CLIENT_REQUEST_METHODS) {
    // The server's request goes to the client whose call it serves, bounded like a call.
    client.setRequestHandler(
      method,
      (request, ctx) =>
        askers
          .pick(method, request.params)
          .ask(
            { method, ...(request.params ? { params: request.params } : {}) },
            { signal: ctx.mcpReq.signal, timeout: options.callTimeoutMs }
          ) as never
    );
  }
  // Log messages: routed by what is in flight when they arrive (a stdio message names no request).
  client.setNotificationHandler('notifications/message', notification => {
    if (isCurrent(client)) events.log(notification.params);
  });
  client.setNotificationHandler('notifications/resources/updated', notification => {
    if (isCurrent(client)) events.resourceUpdated(notification.params.uri);
  });
  return client;
}
