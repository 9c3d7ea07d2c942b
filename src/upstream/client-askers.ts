import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import type { ClientCapabilities, Result } from '@modelcontextprotocol/client';

/** The requests a server may send its client, which the gateway passes to the calling client. */
export const CLIENT_REQUEST_METHODS = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;
export type ClientRequestMethod = (typeof CLIENT_REQUEST_METHODS)[number];

/**
 * What every upstream client declares: each server-to-client request the gateway can pass on.
 * Only the plain forms: sampling without `tools` or `includeContext`, and roots without
 * `listChanged`, because whether a client supports more is known only per call, and a
 * `roots/list_changed` of one client is not the news of the others sharing the server.
 */
export const UPSTREAM_CLIENT_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: {}
};

/**
 * What a 2026-era server is told its client declared, for one request: the caller's share of
 * {@link UPSTREAM_CLIENT_CAPABILITIES}, so the server asks only what the caller can answer.
 */
export function callerCapabilities(declared: ClientCapabilities): ClientCapabilities {
  return {
    ...(declared.sampling ? { sampling: {} } : {}),
    ...(declared.elicitation ? { elicitation: declared.elicitation } : {}),
    ...(declared.roots ? { roots: {} } : {})
  };
}

/** How a server's request reaches the client whose call it serves. */
export interface ClientAsker {
  /**
   * Who asks: requests of one owner (a client-facing session) reach the same client, so a server
   * request during several calls of one owner can go to any of them.
   */
  readonly owner: string;
  /** What the client declared (undefined: unknown). */
  readonly capabilities: ClientCapabilities | undefined;
  /** Why the client cannot be sent a request at all, when it cannot. */
  readonly unreachable?: string;
  /** Sends the request to the client, on the stream of the call it belongs to. */
  ask(
    request: { method: ClientRequestMethod; params?: Record<string, unknown> },
    options: { signal: AbortSignal; timeout: number }
  ): Promise<Result>;
}

/**
 * The callers of one upstream connection's requests in flight, and the rule that picks the one a
 * server request belongs to. Over stdio a server request names no request of ours, so: with every
 * request in flight from one owner, it is that owner's; with none, or with several owners, the
 * gateway cannot tell and refuses (rather than guess and show one client another's question).
 */
export class ClientAskers {
  private readonly callers = new Set<{ asker: ClientAsker | undefined }>();

  constructor(private readonly serverId: string) {}

  /** Registers the caller of a request in flight (undefined: no client to ask); returns its removal. */
  add(asker: ClientAsker | undefined): () => void {
    const entry = { asker };
    this.callers.add(entry);
    return () => this.callers.delete(entry);
  }

  /** The client to send `method` to, or the error for the server (-32601, as from a client without it). */
  pick(method: ClientRequestMethod, params: Record<string, unknown> | undefined): ClientAsker {
    const entries = [...this.callers];
    if (entries.length === 0) {
      throw refusal(
        this.serverId,
        method,
        'no call of a client is in flight on this server, so there is nobody to ask'
      );
    }
    const owners = new Set(entries.map(entry => entry.asker?.owner));
    if (owners.size > 1 || owners.has(undefined)) {
      throw refusal(
        this.serverId,
        method,
        `${entries.length} requests from different clients are in flight on this server, and over stdio a request does not say which call it belongs to; ask again when the server serves one client at a time (maxConcurrency: 1 orders them)`
      );
    }
    return askable(this.serverId, entries[0]!.asker!, method, params);
  }
}

/**
 * `asker`, when it can be sent `method` from server `serverId`: it is reachable and declared the
 * capability. Otherwise throws the error for the server (-32601, as from a client without it).
 */
export function askable(
  serverId: string,
  asker: ClientAsker,
  method: ClientRequestMethod,
  params: Record<string, unknown> | undefined
): ClientAsker {
  if (asker.unreachable !== undefined || !asker.capabilities) {
    throw refusal(serverId, method, asker.unreachable ?? 'the calling client cannot be asked');
  }
  if (!supports(asker.capabilities, method, params)) {
    throw refusal(
      serverId,
      method,
      `the calling client did not declare the capability ${capabilityOf(method, params)}`
    );
  }
  return asker;
}

function refusal(serverId: string, method: ClientRequestMethod, why: string): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.MethodNotFound,
    `The gateway cannot pass ${method} from server ${serverId} to a client: ${why}`
  );
}

function capabilityOf(method: ClientRequestMethod, params: Record<string, unknown> | undefined): string {
  if (method === 'sampling/createMessage') return 'sampling';
  if (method === 'roots/list') return 'roots';
  return `elicitation (${params?.mode === 'url' ? 'url' : 'form'} mode)`;
}

/** Whether `capabilities` covers `method` (elicitation: `{}` alone means form mode only). */
function supports(
  capabilities: ClientCapabilities,
  method: ClientRequestMethod,
  params: Record<string, unknown> | undefined
): boolean {
  if (method === 'sampling/createMessage') return capabilities.sampling !== undefined;
  if (method === 'roots/list') return capabilities.roots !== undefined;
  const elicitation = capabilities.elicitation;
  if (elicitation === undefined) return false;
  const declared = elicitation.form !== undefined || elicitation.url !== undefined;
  return params?.mode === 'url' ? elicitation.url !== undefined : !declared || elicitation.form !== undefined;
}
