import { randomBytes, randomUUID } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type ClientCapabilities,
  type ServerContext
} from '@modelcontextprotocol/server';
import type { Retry } from '../upstream/caller-answers.js';
import type { ClientAsker } from '../upstream/client-askers.js';
import { ParkedCall, ParkedCalls, type RoundSinks } from './parked-calls.js';

/** What a `requestState` the gateway issues carries. */
export interface InputState {
  /** The server's own `requestState`, passed back to it on the retry. */
  readonly server: string | undefined;
  /** The exposed name the request was for: a state is good for that request only. */
  readonly name: string;
  /** Single use: the nonce is forgotten when the state is verified. */
  readonly nonce: string;
  /** The parked call whose questions this state's retry answers (a server that sends requests). */
  readonly parked?: string | undefined;
}

/**
 * Seals the `requestState` of the `input_required` results the gateway passes from a server to a
 * 2026-era client: HMAC-signed with a per-process key, bound to the method and the caller's
 * principal, valid for `ttlSeconds`, and good for one retry. A forged, expired or foreign state
 * fails the SDK's verify hook (-32602 `Invalid or expired requestState`); so does a state used
 * before. The server's own state travels inside, so the server authenticates its part as before.
 */
export class InputStates {
  private readonly codec;
  /** Nonces issued and not yet used, each forgotten after the state's lifetime. */
  private readonly issued = new Set<string>();
  /** The calls of servers that asked by sending requests, waiting for their callers' retries. */
  readonly parked = new ParkedCalls();

  constructor(private readonly ttlSeconds = 600) {
    this.codec = createRequestStateCodec<InputState>({
      key: randomBytes(32),
      ttlSeconds,
      bind: ctx => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.clientId ?? ''}`
    });
  }

  /** Seals the server's state (or the parked call's id) for one retry of the request for `name`. */
  async seal(
    continues: { readonly server?: string | undefined; readonly parked?: string },
    name: string,
    ctx: ServerContext
  ): Promise<string> {
    const nonce = randomUUID();
    this.issued.add(nonce);
    setTimeout(() => this.issued.delete(nonce), this.ttlSeconds * 1000).unref();
    return this.codec.mint({ server: continues.server, name, nonce, parked: continues.parked }, ctx);
  }

  /** The hook for the client-facing server's `requestState.verify`: throws on any failure. */
  readonly verify = async (state: string, ctx: ServerContext): Promise<InputState> => {
    const payload = await this.codec.verify(state, ctx);
    if (!this.issued.delete(payload.nonce)) throw new Error('replayed');
    return payload;
  };
}

/** How one round sends its request upstream. */
export interface RoundRequest {
  /** Who the server's requests during it go to (they come back to the caller as input_required). */
  readonly asker: ClientAsker;
  /** Aborted when the request is cancelled: by the caller, or when the caller does not come back. */
  readonly signal: AbortSignal;
  /** What to send the server besides the request's own params (a retry of its `input_required`). */
  readonly retry: Retry;
  /** Where progress and logs go: to the stream of the round running when they come (none between rounds). */
  readonly onprogress: NonNullable<RoundSinks['onprogress']>;
  readonly onlog: NonNullable<RoundSinks['onlog']>;
}

/** One round of a 2026-era caller's request, which a server may answer by asking the caller. */
export interface InputRound {
  /**
   * Runs the round and ends with the server's result, or with an `input_required` for the caller
   * under a state the gateway seals. The server may ask either way: a 2026-era server answers
   * `input_required` itself, and its state travels inside the gateway's; a 2025-era server sends
   * requests, and the call is parked until the retry that answers them. `start` sends a new
   * request upstream; a retry of a parked call sends nothing, it answers the waiting questions.
   */
  run<R>(sinks: RoundSinks, start: (request: RoundRequest) => Promise<R>): Promise<R>;
}

/**
 * The round of `ctx` for the request of `subject` (a tool's or prompt's exposed name, a URI), when
 * the caller is 2026-era and `states` is given; undefined otherwise (questions are pushed or
 * refused). Throws when the caller's state was issued for another request.
 */
export function inputRoundOf(
  states: InputStates | undefined,
  ctx: ServerContext,
  subject: string
): InputRound | undefined {
  if (!states || ctx.mcpReq.envelope === undefined || ctx.sessionId !== undefined) return undefined;
  const state = ctx.mcpReq.requestState<InputState>();
  if (state && state.name !== subject) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `this requestState was issued for ${state.name}, not ${subject}: retry ${state.name}, or send this request without one`
    );
  }
  const retry: Retry = {
    ...(ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
    ...(state?.server === undefined ? {} : { requestState: state.server })
  };
  return {
    run: async <R>(sinks: RoundSinks, start: (request: RoundRequest) => Promise<R>): Promise<R> => {
      let call: ParkedCall<R>;
      if (state?.parked === undefined) {
        call = new ParkedCall<R>(capabilitiesOf(ctx), (asker, signal, relay) =>
          start({ asker, signal, retry, ...relay })
        );
      } else {
        const parked = states.parked.take(state.parked);
        if (!parked) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `the request this requestState continues has ended (it waited too long for this answer, or was cancelled): send ${subject} again without requestState`
          );
        }
        call = parked as ParkedCall<R>;
        call.answer(ctx.mcpReq.inputResponses);
      }
      const end = await call.next(ctx.mcpReq.signal, sinks);
      if ('questions' in end) {
        states.parked.park(call);
        return inputRequired({
          inputRequests: end.questions as never,
          requestState: await states.seal({ parked: call.id }, subject, ctx)
        }) as R;
      }
      const result = end.result;
      if (!isInputRequiredResult(result)) return result;
      return inputRequired({
        inputRequests: result.inputRequests ?? {},
        requestState: await states.seal({ server: result.requestState }, subject, ctx)
      }) as R;
    }
  };
}

/** What a 2026-era caller declared it can answer, from its request's envelope. */
function capabilitiesOf(ctx: ServerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return (envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? {};
}
