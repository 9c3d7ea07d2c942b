import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { ClientCapabilities, Progress, Result } from '@modelcontextprotocol/server';
import type { ClientAsker, ClientRequestMethod } from '../upstream/client-askers.js';
import type { LogHandler } from '../upstream/log-relay.js';

/** A server's request for the caller, as an `input_required` result carries it. */
export interface InputRequest {
  readonly method: ClientRequestMethod;
  readonly params?: Record<string, unknown>;
}

/** Where a round's progress and log messages go: its own request's stream. */
export interface RoundSinks {
  readonly onprogress?: ((progress: Progress) => void) | undefined;
  readonly onlog?: LogHandler | undefined;
}

/** How a round of a {@link ParkedCall} ends: with the call's result, or with questions for the caller. */
export type RoundEnd<R> = { readonly result: R } | { readonly questions: Record<string, InputRequest> };

/**
 * How long a round waits, after a server's first question, for the others it asks at the same time
 * (over stdio they come one line at a time), so that they go to the caller in one round.
 */
const GATHER_MS = 10;

interface Question {
  readonly request: InputRequest;
  /** How long the server waits for the answer (its call timeout): the longest a round may park. */
  readonly timeoutMs: number;
  readonly answer: (result: Result) => void;
  readonly refuse: (error: Error) => void;
}

/**
 * One request of a 2026-era caller to a server that asks its client by sending it requests (a
 * 2025-era server). The 2026 era has no server-to-client requests: each question the server sends
 * ends the caller's round with an `input_required` result, while the upstream request waits; the
 * caller's retry brings the answers, which go back to the server, and the request goes on to its
 * result or to the next round. Between rounds the call is parked (see {@link ParkedCalls}).
 */
export class ParkedCall<R = unknown> {
  readonly id = randomUUID();
  /** Who the server's questions during this call go to: they are kept for the caller's next round. */
  readonly asker: ClientAsker;
  private readonly controller = new AbortController();
  /** Questions the server asked and the caller has not answered, by the key the caller answers under. */
  private readonly questions = new Map<string, Question>();
  private outcome:
    { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private asked = 0;
  /** The running round's sinks; between rounds there is no stream, and what comes is dropped. */
  private sinks: RoundSinks = {};

  /**
   * Starts the upstream request: `start` sends it with this call's asker, a signal that aborts
   * when the call is cancelled (by its caller, or when it waits longer than its questions' timeout),
   * and the sinks of whichever round is running when progress or a log message comes.
   */
  constructor(
    capabilities: ClientCapabilities,
    start: (asker: ClientAsker, signal: AbortSignal, relay: Required<RoundSinks>) => Promise<R>
  ) {
    this.asker = {
      owner: this.id,
      capabilities,
      ask: (request, options) => this.ask(request, options)
    };
    const relay = {
      onprogress: (progress: Progress) => this.sinks.onprogress?.(progress),
      onlog: ((message: Parameters<LogHandler>[0]) => this.sinks.onlog?.(message)) satisfies LogHandler
    };
    start(this.asker, this.controller.signal, relay).then(
      value => this.settle({ ok: true, value }),
      (error: unknown) => this.settle({ ok: false, error })
    );
  }

  /** The longest the call may wait for its caller's next round: the longest any open question waits. */
  get parkMs(): number {
    return Math.max(0, ...[...this.questions.values()].map(question => question.timeoutMs));
  }

  /**
   * One round: resolves with the call's result (rejects with its error) once it has one, or with
   * every question still unanswered once the server has asked one. Questions the server asks
   * together go out together: the round ends {@link GATHER_MS} after the first. Aborting
   * `signal` (the caller cancelled this round's request) cancels the call. Until the round ends,
   * the call's progress and log messages go to `sinks`.
   */
  async next(signal: AbortSignal, sinks: RoundSinks): Promise<RoundEnd<R>> {
    this.sinks = sinks;
    const cancel = () => this.cancel(signal.reason);
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        if (this.outcome) {
          if (this.outcome.ok) return { result: this.outcome.value };
          throw this.outcome.error;
        }
        if (this.questions.size > 0) {
          await sleep(GATHER_MS);
          if (this.outcome) continue;
          return {
            questions: Object.fromEntries(
              [...this.questions].map(([key, question]) => [key, question.request])
            )
          };
        }
        await new Promise<void>(resolve => (this.wake = resolve));
      }
    } finally {
      this.wake = undefined;
      this.sinks = {};
      signal.removeEventListener('abort', cancel);
    }
  }

  /**
   * Gives the caller's `inputResponses` to the questions they answer (by key); keys of no open
   * question are ignored, and a question left unanswered is asked again in the next round.
   */
  answer(responses: unknown): void {
    if (typeof responses !== 'object' || responses === null) return;
    for (const [key, response] of Object.entries(responses)) {
      const question = this.questions.get(key);
      if (!question) continue;
      this.questions.delete(key);
      question.answer(response as Result);
    }
  }

  /** Ends the call: the upstream request is cancelled, and the server's open questions are refused. */
  cancel(reason: unknown): void {
    this.controller.abort(reason);
    this.refuseAll(
      () =>
        new ProtocolError(
          ProtocolErrorCode.InternalError,
          `The calling client will not answer: ${reason instanceof Error ? reason.message : String(reason)}`
        )
    );
  }

  private ask(request: InputRequest, options: { signal: AbortSignal; timeout: number }): Promise<Result> {
    if (this.outcome || this.controller.signal.aborted) {
      return Promise.reject(
        new ProtocolError(ProtocolErrorCode.InternalError, 'The call this request belongs to has ended')
      );
    }
    return new Promise<Result>((resolve, reject) => {
      const key = `gateway-${++this.asked}`;
      // The server may give up on its question (its own timeout, or a cancellation): it is not asked then.
      const withdraw = () => {
        const reason: unknown = options.signal.reason;
        if (this.questions.delete(key)) reject(reason instanceof Error ? reason : new Error(String(reason)));
      };
      options.signal.addEventListener('abort', withdraw, { once: true });
      const settled = () => options.signal.removeEventListener('abort', withdraw);
      this.questions.set(key, {
        request: { method: request.method, ...(request.params ? { params: request.params } : {}) },
        timeoutMs: options.timeout,
        answer: result => {
          settled();
          resolve(result);
        },
        refuse: error => {
          settled();
          reject(error);
        }
      });
      this.wake?.();
    });
  }

  private settle(outcome: NonNullable<ParkedCall<R>['outcome']>): void {
    this.outcome = outcome;
    // Whatever the server still asks is moot now; it is answered, so nothing waits on it.
    this.refuseAll(
      () => new ProtocolError(ProtocolErrorCode.InternalError, 'The call this request belongs to has ended')
    );
    this.wake?.();
  }

  /** Refuses every open question with one error, made only when there is one (an error's stack costs ~0.1 ms, on every call). */
  private refuseAll(error: () => Error): void {
    if (this.questions.size === 0) return;
    const open = [...this.questions.values()];
    this.questions.clear();
    const refusal = error();
    for (const question of open) question.refuse(refusal);
  }
}

/**
 * The calls waiting for their callers' next round, by id (carried in the sealed `requestState`).
 * A call not taken back within its questions' timeout is cancelled: the server's questions are
 * refused and its request cancelled, so nothing is left waiting on a caller who went away.
 */
export class ParkedCalls {
  private readonly parked = new Map<string, { readonly call: ParkedCall; readonly timer: NodeJS.Timeout }>();

  /** Calls parked now. */
  get size(): number {
    return this.parked.size;
  }

  park(call: ParkedCall): void {
    const waitMs = call.parkMs;
    const timer = setTimeout(() => {
      this.parked.delete(call.id);
      call.cancel(new Error(`it did not come back with an answer within ${Math.round(waitMs / 1000)} s`));
    }, waitMs);
    timer.unref();
    this.parked.set(call.id, { call, timer });
  }

  /** The parked call `id`, removed from here (undefined: it ended, or was taken already). */
  take(id: string): ParkedCall | undefined {
    const entry = this.parked.get(id);
    if (!entry) return undefined;
    this.parked.delete(id);
    clearTimeout(entry.timer);
    return entry.call;
  }
}
