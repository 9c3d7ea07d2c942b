import { randomBytes, randomUUID } from 'node:crypto';
import {
  createRequestStateCodec,
  inputRequired,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext
} from '@modelcontextprotocol/server';

/** What a `requestState` the gateway issues carries. */
export interface InputState {
  /** The server's own `requestState`, passed back to it on the retry. */
  readonly server: string | undefined;
  /** The exposed name the request was for: a state is good for that request only. */
  readonly name: string;
  /** Single use: the nonce is forgotten when the state is verified. */
  readonly nonce: string;
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

  constructor(private readonly ttlSeconds = 600) {
    this.codec = createRequestStateCodec<InputState>({
      key: randomBytes(32),
      ttlSeconds,
      bind: ctx => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.clientId ?? ''}`
    });
  }

  /** Seals the server's state for one retry of the request for `name`. */
  async seal(server: string | undefined, name: string, ctx: ServerContext): Promise<string> {
    const nonce = randomUUID();
    this.issued.add(nonce);
    setTimeout(() => this.issued.delete(nonce), this.ttlSeconds * 1000).unref();
    return this.codec.mint({ server, name, nonce }, ctx);
  }

  /** The hook for the client-facing server's `requestState.verify`: throws on any failure. */
  readonly verify = async (state: string, ctx: ServerContext): Promise<InputState> => {
    const payload = await this.codec.verify(state, ctx);
    if (!this.issued.delete(payload.nonce)) throw new Error('replayed');
    return payload;
  };
}

/** One round of a 2026-era caller's request that a server may answer with `input_required`. */
export interface InputRound {
  /** What the retry carries to the server: the caller's answers and the server's own state. */
  readonly retry: { readonly inputResponses?: unknown; readonly requestState?: string };
  /** The server's result for the caller: an `input_required` under the gateway's sealed state. */
  pass<R>(result: R): Promise<R>;
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
  return {
    retry: {
      ...(ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
      ...(state?.server === undefined ? {} : { requestState: state.server })
    },
    pass: async <R>(result: R): Promise<R> => {
      if (!isInputRequiredResult(result)) return result;
      return inputRequired({
        inputRequests: result.inputRequests ?? {},
        requestState: await states.seal(result.requestState, subject, ctx)
      }) as R;
    }
  };
}
