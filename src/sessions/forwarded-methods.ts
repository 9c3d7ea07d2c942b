import { isInputRequiredResult, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type {
  CompleteRequest,
  CompleteResult,
  GetPromptRequest,
  GetPromptResult,
  ReadResourceRequest,
  ReadResourceResult
} from '@modelcontextprotocol/server';
import type { Catalog, KindRoute } from '../catalog/catalog.js';
import { exposeContentUris, exposeUri } from '../catalog/exposed-uris.js';
import { GatewayError } from '../errors.js';
import type { Send, Subject } from '../upstream/upstream.js';

/** The capability a client-facing server must advertise to answer a method. */
export type AdvertisedKind = 'prompts' | 'resources' | 'completions';

/**
 * How one client request that names a prompt or resource reaches its server: `resolve` finds the
 * route once, from the request's params; `forward` sends it there with the server's own name or URI
 * in place of the exposed one and maps the answer back.
 */
export interface ForwardedMethod<P, R> {
  readonly kind: AdvertisedKind;
  /** Whether the method may end with `input_required` (2026-07-28: tools/call, prompts/get, resources/read). */
  readonly mayRequireInput: boolean;
  resolve(catalog: Resolver, params: P): KindRoute;
  subject(route: KindRoute): Subject;
  forward(route: KindRoute, params: P): Send<R>;
  /** The answer the gateway gives itself, without the server, when there is one (else undefined). */
  answerLocally?(catalog: Catalog, route: KindRoute): R | undefined;
}

/** What routes a prompt name or resource URI: the catalog, or a profile's view of it. */
export type Resolver = Pick<Catalog, 'resolvePrompt' | 'resolveResource'>;

type Params<T extends { params: unknown }> = T['params'];

/** `params` with the hop's `_meta` keys added to the caller's. */
function withMeta<P extends { _meta?: Record<string, unknown> | undefined }>(
  params: P,
  hopMeta: Record<string, unknown>
): P {
  if (Object.keys(hopMeta).length === 0) return params;
  return { ...params, _meta: { ...params._meta, ...hopMeta } };
}

/** The "resource not found" code of 2025-era servers (before SEP-2164 made it -32602). */
const LEGACY_RESOURCE_NOT_FOUND = -32002;

const getPrompt: ForwardedMethod<Params<GetPromptRequest>, GetPromptResult> = {
  kind: 'prompts',
  mayRequireInput: true,
  resolve: (catalog, params) => catalog.resolvePrompt(params.name),
  subject: route => ({ kind: 'prompt', name: route.name }),
  forward: (route, params) => async (client, options, hopMeta, retry) => {
    const result = await client.getPrompt(
      { ...withMeta(params, hopMeta), ...retry, name: route.name },
      options
    );
    if (isInputRequiredResult(result)) return result;
    return {
      ...result,
      // A message whose resource would lead to another server is dropped (see exposeUri).
      messages: result.messages.flatMap(message => {
        const content = exposeContentUris(message.content, route.namespace);
        return content === undefined ? [] : [{ ...message, content }];
      })
    };
  }
};

const readResource: ForwardedMethod<Params<ReadResourceRequest>, ReadResourceResult> = {
  kind: 'resources',
  mayRequireInput: true,
  resolve: (catalog, params) => catalog.resolveResource(params.uri),
  subject: route => ({ kind: 'resource', name: route.name }),
  forward: (route, params) => async (client, options, hopMeta, retry) => {
    try {
      // Never from the upstream client's cache: each read is the server's answer now.
      const result = await client.readResource(
        { ...withMeta(params, hopMeta), ...retry, uri: route.name },
        { ...options, cacheMode: 'bypass' }
      );
      if (isInputRequiredResult(result)) return result;
      return {
        ...result,
        contents: result.contents.flatMap(content => {
          const uri = exposeUri(route.namespace, content.uri);
          return uri === undefined ? [] : [{ ...content, uri }];
        })
      };
    } catch (error) {
      // A "not found" names the URI in `data.uri` (and its message): the client's URI, not the
      // server's. It is -32602 (SEP-2164); a 2025-era server's -32002 is mapped to it.
      const data = error instanceof ProtocolError ? (error.data as { uri?: unknown } | undefined) : undefined;
      const legacyNotFound = error instanceof ProtocolError && error.code === LEGACY_RESOURCE_NOT_FOUND;
      if (error instanceof ProtocolError && (legacyNotFound || typeof data?.uri === 'string')) {
        const message = error.message.split(route.name).join(params.uri);
        const code = legacyNotFound ? ProtocolErrorCode.InvalidParams : error.code;
        throw new ProtocolError(code, message, { ...data, uri: params.uri });
      }
      throw error;
    }
  }
};

const complete: ForwardedMethod<Params<CompleteRequest>, CompleteResult> = {
  kind: 'completions',
  mayRequireInput: false,
  resolve: (catalog, params) => {
    const ref = params.ref as { type: string; name?: unknown; uri?: unknown };
    if (ref.type === 'ref/prompt' && typeof ref.name === 'string') return catalog.resolvePrompt(ref.name);
    if (ref.type === 'ref/resource' && typeof ref.uri === 'string') return catalog.resolveResource(ref.uri);
    throw new GatewayError(
      'unknown_reference',
      `completion/complete needs a ref of type ref/prompt (with a name) or ref/resource (with a uri); got ${JSON.stringify(params.ref)}`
    );
  },
  subject: route => ({ kind: 'completion', name: route.name }),
  // The gateway advertises completions when any server does: one known not to offer them has
  // nothing to suggest (asked, it would answer -32601), so it is neither asked nor started.
  answerLocally: (catalog, route) => {
    const offered = catalog.capabilitiesOf(route.serverId);
    return offered && !offered.completions ? { completion: { values: [], hasMore: false } } : undefined;
  },
  forward: (route, params) => (client, options, hopMeta) =>
    client.complete(
      {
        ...withMeta(params, hopMeta),
        ref:
          params.ref.type === 'ref/prompt'
            ? { ...params.ref, name: route.name }
            : { ...params.ref, uri: route.name }
      },
      options
    )
};

/** Every method routed to one server by a prompt name or a resource URI: a new one is a row here. */
export const FORWARDED_METHODS = {
  'prompts/get': getPrompt,
  'resources/read': readResource,
  'completion/complete': complete
} as const;
