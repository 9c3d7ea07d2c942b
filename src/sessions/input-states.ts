import { randomBytes, randomUUID } from 'node:crypto';
import { createRequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';

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
 * 2026-era client: HMAC-signed with a per-process key, bound to the method and the caller's token
 * (its client id), valid for `ttlSeconds`, and good for one retry. A forged, expired or foreign state
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
