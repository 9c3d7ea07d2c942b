import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  isJsonContentType,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  type AuthInfo,
  type CallToolResult,
  type Implementation,
  type ServerContext,
  type Tool
} from '@modelcontextprotocol/server';
import { principalOfAuth, type Principal } from '../auth/principal.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ProfileView } from '../catalog/profile-view.js';
import type { Profiles } from '../catalog/profiles.js';
import { toProtocolError } from '../errors.js';
import { clientKeyOf } from '../store/activity-log.js';
import type { CallRunner } from './call-runner.js';
import { identityOf } from './client-identity.js';
import { classifyPost } from './inbound-classification.js';
import { inputRoundOf, type InputStates } from './input-states.js';
import { SdkAnswer } from './sdk-answer.js';
import type { Expose } from './search-tools.js';
import { writeAround } from './write-around.js';
import { ToolPages, type ToolPage } from './tool-pages.js';
import { isObject } from '../connectors/is-object.js';

/** The one 2026-era revision the SDK serves (its `SUPPORTED_MODERN_PROTOCOL_VERSIONS`). */
const MODERN = '2026-07-28';
const ENVELOPE_KEYS = new Set([
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY
]);
const CAPABILITIES = new Set(['roots', 'sampling', 'elicitation', 'experimental', 'extensions']);
const PARAMS: Record<string, Set<string>> = {
  'tools/call': new Set(['name', 'arguments', '_meta']),
  'tools/list': new Set(['cursor', '_meta'])
};

export interface FastPathOptions {
  readonly catalog: Catalog;
  readonly runner: CallRunner;
  /** How long a `tools/list` waits for startup discovery (as the SDK path's). */
  readonly listWaitMs: number;
  /** Tools per `tools/list` page (as the SDK path's). */
  readonly pageSize: number;
  /** The gateway's identity, stamped into results as the SDK stamps its server's. */
  readonly serverInfo: Implementation;
  /** Largest request body, as the SDK path's (for the results the SDK encodes). */
  readonly maxRequestBodySize: number;
  /** The SDK path's sealer of `input_required` states; without it nothing takes the fast path. */
  readonly inputStates: InputStates | undefined;
  /** The profiles (`/mcp/<profile>`), as the SDK path's servers see them (none: only the root is served). */
  readonly profiles?: Profiles | undefined;
  /** `gateway.expose`, and a profile's when it names none (as the SDK path's); `search` is left to the SDK. */
  readonly expose?: Expose | undefined;
}

/**
 * What one endpoint lists and routes, as its SDK server does: the root's whole catalog, or one
 * profile's view (its globs, its shortened names), with that endpoint's pages.
 */
interface Endpoint {
  /** The view it was made for (none: the root); a reload's new view gets a new endpoint. */
  readonly view: ProfileView | undefined;
  readonly tools: () => Promise<readonly Tool[]>;
  /** The catalog's name of the tool the endpoint lists as `name`; throws as the SDK path's lookup does. */
  readonly toolName: (name: string) => string;
  readonly pages: ToolPages;
  /** The same lists in the 2025 era's encoding, for the sessions' `tools/list` (see {@link FastPath.sessionPage}). */
  readonly sessionPages: ToolPages;
}

/** A request the fast path serves: what the SDK would have handed the gateway's handler. */
interface Eligible {
  readonly id: string | number;
  readonly method: 'tools/call' | 'tools/list';
  readonly params: { name?: string; arguments?: Record<string, unknown>; cursor?: string };
  readonly envelope: Record<string, unknown>;
}

/**
 * The 2026-07-28 hot path: a stateless `tools/call` or `tools/list` that asks for no streaming is
 * answered here, with one JSON body, instead of by a fresh SDK server behind `createMcpHandler`.
 * It serves only requests every SDK check would pass (see {@link eligible}); anything else — a
 * progress token, a log level, a retry's `inputResponses`/`requestState`, an unknown header or
 * `_meta` key, a cursor it did not issue, a bad envelope — is left to the SDK path, which is
 * always correct. It calls through the same `CallRunner.run` (scope, limits, history, metrics) and
 * catalog listing, and a property test holds its answers byte-for-byte equal to the SDK path's.
 *
 * It answers as `createGatewayServer`'s handlers do, for the root (the whole catalog) and for each
 * profile (its view, looked up on each request as the SDK path's server does): an endpoint that
 * lists search tools instead (`expose: search`, the profile's or the gateway's) or a profile a
 * reload removed is left to the SDK path. The property test holds both kinds of endpoint equal.
 * Each endpoint keeps its lists in the 2025 era's encoding too, for the sessions' `tools/list`
 * ({@link sessionPage}, served by `SessionToolList`), dropped by the same catalog changes.
 */
export class FastPath {
  private readonly root: Endpoint;
  /** Each profile's endpoint, by profile name, made at its first request. */
  private readonly profiles = new Map<string, Endpoint>();
  private readonly sdkAnswer: SdkAnswer;

  constructor(private readonly options: FastPathOptions) {
    this.sdkAnswer = new SdkAnswer(options.serverInfo, options.maxRequestBodySize);
    this.root = this.endpoint(undefined);
    // Any change to the catalog's tools may change every endpoint's pages (a profile's list is cut
    // from the catalog's): all are dropped, and each is cut again at its next request.
    options.catalog.onChanged(kind => {
      if (kind !== 'tools') return;
      for (const endpoint of [this.root, ...this.profiles.values()]) {
        endpoint.pages.clear();
        endpoint.sessionPages.clear();
      }
    });
  }

  /**
   * Serves `body` when it is a request the fast path answers, telling `accepted` of its envelope
   * first (where the SDK path tells of an accepted request). Resolves false, having written
   * nothing, when the SDK path is to serve it.
   */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    accepted: (envelope: Record<string, unknown>) => void,
    profile?: string
  ): Promise<boolean> {
    const endpoint = this.endpointOf(profile);
    if (!endpoint) return false;
    const request = this.eligible(req, body);
    if (!request) return false;
    const principal = principalOfAuth((req as { auth?: AuthInfo }).auth);
    if (request.method === 'tools/call') {
      accepted(request.envelope);
      await this.call(req, res, body, request, principal, endpoint);
      return true;
    }
    if (this.listWouldWait()) return false;
    const all = await endpoint.tools();
    const page = endpoint.pages.page(all, principal, request.params.cursor);
    if (page === undefined) return false;
    accepted(request.envelope);
    writeResult(res, request.id, page.encoded);
    return true;
  }

  /**
   * Whether a list would wait for startup discovery now: such a `tools/list` is left to the SDK
   * path, which answers a 2025-era session's at once with the stream's priming event (so a client
   * cut off during the wait can resume) and then waits once; here a page the pages then refuse
   * would have the SDK path wait a second time.
   */
  private listWouldWait(): boolean {
    return this.options.catalog.discovering && this.options.listWaitMs > 0;
  }

  /** Whether `profile` has an endpoint now: made at its first request, until forgotten. */
  hasEndpoint(profile: string): boolean {
    return this.profiles.has(profile);
  }

  /**
   * Drops the endpoint (and pages) of `profile`, which a reload removed: its requests are refused
   * before they reach the fast path, so {@link endpointOf} would never see that it is gone.
   */
  forget(profile: string): void {
    this.profiles.delete(profile);
  }

  /**
   * The `tools/list` page at `cursor` that a 2025-era session on `profile` (undefined: the root)
   * opened by `principal` is listed, in that era's encoding, from the same kept lists as the 2026
   * era's; undefined leaves the request to the SDK path (a search endpoint, a removed profile, a
   * list that would wait for startup discovery, a cursor the pages never issued, a page the SDK's
   * encoder reshapes, a listing that failed).
   */
  async sessionPage(
    profile: string | undefined,
    principal: Principal | undefined,
    cursor: string | undefined
  ): Promise<ToolPage | undefined> {
    const endpoint = this.endpointOf(profile);
    if (!endpoint || this.listWouldWait()) return undefined;
    let all: readonly Tool[];
    try {
      all = await endpoint.tools();
    } catch {
      return undefined; // the SDK path answers with its error
    }
    return endpoint.sessionPages.page(all, principal, cursor);
  }

  /**
   * The endpoint of `profile` (undefined: the root) when the fast path serves it: one that lists
   * its tools (`expose: all`, asked on each request, as a reload may change a profile's) of a
   * profile that still exists. Undefined leaves the request to the SDK path, which answers a search
   * endpoint's tools and a removed profile's error.
   */
  private endpointOf(profile: string | undefined): Endpoint | undefined {
    if (profile === undefined) return this.options.expose === 'search' ? undefined : this.root;
    const view = this.options.profiles?.get(profile);
    if (!view) {
      this.profiles.delete(profile);
      return undefined;
    }
    if ((view.config.expose ?? this.options.expose) === 'search') return undefined;
    let endpoint = this.profiles.get(profile);
    if (endpoint?.view !== view) {
      endpoint = this.endpoint(view);
      this.profiles.set(profile, endpoint);
    }
    return endpoint;
  }

  /** The endpoint of `view` (undefined: the root), listing and routing as the SDK path's server for it does. */
  private endpoint(view: ProfileView | undefined): Endpoint {
    const { catalog, runner, listWaitMs, pageSize, serverInfo } = this.options;
    // Scopes name the catalog's tools: a profile's (maybe shortened) name is checked as that one.
    const toolName = view ? (name: string) => view.toolName(name) : (name: string) => name;
    const pages = (era: 'legacy' | 'modern') =>
      new ToolPages({
        pageSize,
        allows: (principal, name) => runner.allows(principal, toolName(name)),
        serverInfo,
        era
      });
    return {
      view,
      tools: view ? () => view.list('tools', listWaitMs) : () => catalog.listTools(listWaitMs),
      toolName,
      pages: pages('modern'),
      sessionPages: pages('legacy')
    };
  }

  /**
   * The request, when the SDK would serve it with no stream and no check of its would refuse it:
   * a JSON POST of one JSON-RPC request (`jsonrpc`, a string or integer `id`, `method`, `params`,
   * nothing else) for `tools/call` or `tools/list`; that the SDK's own classifier calls modern at
   * the revision it serves; whose `MCP-Protocol-Version`, `Mcp-Method` and (for a call) `Mcp-Name`
   * headers are each sent once and equal the body's (a list sends no `Mcp-Name`); whose params are
   * only a call's `name` (a string) and `arguments` (an object), or a list's `cursor` (a string),
   * and `_meta`; and whose `_meta` is exactly the envelope — the protocol version, client
   * capabilities (known kinds, each an object) and optionally client info (`name`, `version`,
   * `title` strings) — so no progress token, log level or key of the caller's own.
   */
  private eligible(req: IncomingMessage, body: unknown): Eligible | undefined {
    if (!this.options.inputStates || !isObject(body)) return undefined;
    const { jsonrpc, id, method, params } = body;
    if (jsonrpc !== '2.0' || (method !== 'tools/call' && method !== 'tools/list')) return undefined;
    if (!(typeof id === 'string' || Number.isSafeInteger(id))) return undefined;
    if (!isObject(params) || Object.keys(body).length !== 4) return undefined;
    if (!isJsonContentType(req.headers['content-type'])) return undefined;
    const allowed = PARAMS[method]!;
    if (!Object.keys(params).every(key => allowed.has(key))) return undefined;
    const { name, arguments: args, cursor, _meta: meta } = params;
    if (method === 'tools/call') {
      if (typeof name !== 'string' || (args !== undefined && !isObject(args))) return undefined;
    } else if (cursor !== undefined && typeof cursor !== 'string') return undefined;
    if (!isEnvelope(meta)) return undefined;
    const version = single(req.headers['mcp-protocol-version']);
    const methodHeader = single(req.headers['mcp-method']);
    const nameHeader = req.headers['mcp-name'];
    if (version !== MODERN || methodHeader !== method) return undefined;
    if (method === 'tools/call' ? single(nameHeader) !== name : nameHeader !== undefined) return undefined;
    // The headers are single and equal the body's here: the router's classification of it is this one.
    const outcome = classifyPost(req.headers, body);
    if (outcome.kind !== 'modern' || outcome.classification.revision !== MODERN) return undefined;
    return {
      id: id as string | number,
      method,
      params,
      envelope: meta
    };
  }

  /** Runs the call as the SDK path's `tools/call` handler does, and writes its answer. */
  private async call(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    request: Eligible,
    principal: Principal | undefined,
    endpoint: Endpoint
  ) {
    const { runner, inputStates } = this.options;
    const auth = (req as { auth?: AuthInfo }).auth;
    const aborted = new AbortController();
    const onClose = () => aborted.abort();
    res.once('close', onClose);
    if (res.destroyed) aborted.abort();
    // What the SDK hands a handler, as far as the gateway's handler reads it: the lifted envelope,
    // no retry material, the caller's signal and auth (the state sealer binds method and client).
    const ctx = {
      sessionId: undefined,
      mcpReq: {
        id: request.id,
        method: request.method,
        envelope: request.envelope,
        requestState: () => undefined,
        signal: aborted.signal
      },
      http: auth ? { authInfo: auth } : undefined
    } as unknown as ServerContext;
    let status = 200;
    let text = '';
    /** A result the SDK is to encode. */
    let sdkResult: CallToolResult | undefined;
    try {
      // Through a profile, the call runs under the catalog's name (as on the SDK path, whose errors
      // for a name outside the profile this gives).
      const name = endpoint.toolName(request.params.name!);
      const round = inputRoundOf(inputStates, ctx, `tool ${name}`)!;
      const result = await round.run({}, ({ asker, signal, retry, onprogress, onlog }) =>
        runner.run(name, request.params.arguments, {
          principal,
          sessionId: undefined,
          clientKey: clientKeyOf(identityOf(request.envelope, undefined, principal?.id)),
          profile: endpoint.view?.name,
          signal,
          meta: undefined,
          onprogress,
          onlog,
          logLevel: undefined,
          asker,
          inputRequired: retry
        })
      );
      if (!isPlainResult(result)) {
        sdkResult = result;
      } else {
        text = resultResponse(request.id, JSON.stringify(encodePlainResult(result, this.options.serverInfo)));
      }
    } catch (thrown) {
      const error = toProtocolError(thrown);
      // The one error the SDK answers with an HTTP error status, wherever it comes from (the spec's 400).
      if (error.code === Number(ProtocolErrorCode.MissingRequiredClientCapability)) status = 400;
      text = JSON.stringify({
        jsonrpc: '2.0',
        id: request.id,
        error: {
          // The 2026 era's codec sends -32002 (resource not found) as -32602.
          code: error.code === -32002 ? ProtocolErrorCode.InvalidParams : error.code,
          message: error.message,
          ...(error.data === undefined ? {} : { data: error.data })
        }
      });
    } finally {
      res.off('close', onClose);
    }
    // A caller gone before the answer gets none (the SDK path drops it too).
    if (aborted.signal.aborted) return;
    if (sdkResult) await this.sdkAnswer.write(req, res, body, sdkResult);
    else write(res, status, text);
  }
}

/**
 * A `tools/call` result in the form the SDK's 2026-era server leaves as it is, but for the
 * `resultType` and server identity its encoder adds: `content` of text blocks (`type`, `text`,
 * then optionally `_meta`, in that order), `structuredContent`, a boolean `isError`, and a `_meta`
 * object that names no server. Anything else (other blocks, other keys, an `input_required`
 * result) is the SDK's to validate and shape, by {@link SdkAnswer}.
 */
function isPlainResult(result: CallToolResult): boolean {
  const {
    content,
    structuredContent: _structured,
    isError,
    _meta: meta,
    ...rest
  } = result as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || !Array.isArray(content)) return false;
  if (isError !== undefined && typeof isError !== 'boolean') return false;
  if (meta !== undefined && (!isObject(meta) || SERVER_INFO_META_KEY in meta)) return false;
  return content.every(block => {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') return false;
    const keys = Object.keys(block);
    if (keys[0] !== 'type' || keys[1] !== 'text') return false;
    if (keys.length === 2) return true;
    return keys.length === 3 && keys[2] === '_meta' && isObject(block._meta);
  });
}

/** A plain result as the SDK's encoder sends it: `resultType` added after its keys, then the server's identity. */
function encodePlainResult(result: CallToolResult, serverInfo: Implementation): Record<string, unknown> {
  return stampServerInfo({ ...result, resultType: 'complete' }, serverInfo);
}

/** The SDK's stamp: the server's identity added to `_meta` (a plain result's names none). */
function stampServerInfo(
  result: Record<string, unknown>,
  serverInfo: Implementation
): Record<string, unknown> {
  const meta = result._meta as Record<string, unknown> | undefined;
  return { ...result, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
}

/** A JSON-RPC response around a result already serialized, in the SDK's key order. */
function resultResponse(id: string | number, resultText: string): string {
  return `{"result":${resultText},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
}

const RESULT_HEAD = Buffer.from('{"result":');

/** {@link resultResponse} around a result already encoded, written as it is. */
function writeResult(res: ServerResponse, id: string | number, result: Buffer): void {
  const tail = Buffer.from(`,"jsonrpc":"2.0","id":${JSON.stringify(id)}}`);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': RESULT_HEAD.length + result.length + tail.length
  });
  writeAround(res, RESULT_HEAD, result, tail);
}

function write(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** Whether `meta` is exactly an envelope the SDK accepts and nothing else (see {@link FastPath.eligible}). */
function isEnvelope(meta: unknown): meta is Record<string, unknown> {
  if (!isObject(meta) || !Object.keys(meta).every(key => ENVELOPE_KEYS.has(key))) return false;
  if (meta[PROTOCOL_VERSION_META_KEY] !== MODERN) return false;
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  if (!isObject(capabilities)) return false;
  for (const [kind, value] of Object.entries(capabilities)) {
    if (!CAPABILITIES.has(kind) || !isObject(value)) return false;
  }
  const info = meta[CLIENT_INFO_META_KEY];
  if (info === undefined) return true;
  return (
    isObject(info) &&
    typeof info.name === 'string' &&
    typeof info.version === 'string' &&
    Object.entries(info).every(
      ([key, value]) => ['name', 'version', 'title'].includes(key) && typeof value === 'string'
    )
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
