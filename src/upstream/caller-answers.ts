import { setTimeout as sleep } from 'node:timers/promises';
import { isInputRequiredResult, SdkError, SdkErrorCode, type Result } from '@modelcontextprotocol/client';
import { GatewayError } from '../errors.js';
import {
  askable,
  CLIENT_REQUEST_METHODS,
  type ClientAsker,
  type ClientRequestMethod
} from './client-askers.js';

/** Rounds of questions one request may take before it fails (the SDK's own driver allows as many). */
export const MAX_ROUNDS = 8;
/** The pause before a retry that answers no question (the server only asked to be called again). */
const STATE_ONLY_PAUSE_MS = 250;

/** What a retry of an `input_required` sends the server besides the request's own params. */
export interface Retry {
  /** The answers, by the keys of the server's `inputRequests`. */
  readonly inputResponses?: unknown;
  /** The server's own `requestState`, passed back as it was. */
  readonly requestState?: string;
}

export interface CallerAnswersOptions {
  readonly serverId: string;
  /** The caller of the request: every question goes to it, and to no other client. */
  readonly asker: ClientAsker;
  /** The caller's cancellation: it ends the questions and the request. */
  readonly signal?: AbortSignal | undefined;
  /** Bound on each answer, as on a question the server sends itself. */
  readonly answerTimeoutMs: number;
}

/**
 * Runs a request for a caller that cannot be handed an `input_required` result (a 2025-era session
 * has no retry): a 2026-era server's questions are put to that caller by its asker, and the request
 * is sent again with the answers and the server's state, until the server answers. `send` sends one
 * round (`retry` empty in the first) with `input_required` allowed; a 2025-era server never answers
 * so, and its questions keep coming as requests of its own.
 *
 * The SDK's own fulfilment would hand each question to the connection's request handler, which
 * cannot tell whose call it belongs to when calls of several clients share the connection: the
 * questions were refused then. Here they belong to the request that got them.
 */
export async function withCallerAnswers<T extends { result: unknown }>(
  options: CallerAnswersOptions,
  send: (retry: Retry) => Promise<T>
): Promise<T> {
  let retry: Retry = {};
  for (let round = 1; ; round++) {
    const outcome = await send(retry);
    const { result } = outcome;
    if (!isInputRequiredResult(result)) return outcome;
    if (round === MAX_ROUNDS) {
      throw new GatewayError(
        'invalid_result',
        `server ${options.serverId} asked for input ${MAX_ROUNDS} times in one request without answering; it was given up`,
        { serverId: options.serverId }
      );
    }
    // Every question is checked before any is asked: a caller is never shown a question of a
    // request that one it cannot answer fails anyway.
    const questions = Object.entries(result.inputRequests ?? {}).map(([key, question]) =>
      checked(options, key, question)
    );
    if (questions.length === 0) await sleep(STATE_ONLY_PAUSE_MS, undefined, { signal: options.signal });
    const answers = await askAll(options, questions);
    retry = {
      ...(answers.length > 0 ? { inputResponses: Object.fromEntries(answers) } : {}),
      ...(result.requestState === undefined ? {} : { requestState: result.requestState })
    };
  }
}

/** A question of the server's that its caller can be asked. */
interface Question {
  readonly key: string;
  readonly method: ClientRequestMethod;
  readonly params: Record<string, unknown> | undefined;
}

/** `question` (the server's input request `key`) when the caller can be asked it; throws otherwise. */
function checked(options: CallerAnswersOptions, key: string, question: unknown): Question {
  const { serverId, asker } = options;
  const { method, params } = (question ?? {}) as { method?: unknown; params?: unknown };
  if (!CLIENT_REQUEST_METHODS.includes(method as ClientRequestMethod)) {
    throw new GatewayError(
      'invalid_result',
      `server ${serverId} asked for input "${key}" with ${JSON.stringify(method)}, which is not a question a client answers (sampling/createMessage, elicitation/create or roots/list)`,
      { serverId }
    );
  }
  const known = method as ClientRequestMethod;
  const own = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : undefined;
  askable(serverId, asker, known, own);
  return { key, method: known, params: own };
}

/**
 * The caller's answers to one round's questions, asked at once. The first that fails (unanswered
 * in time, refused by the caller) withdraws the others, so none is left open at the client.
 */
async function askAll(
  options: CallerAnswersOptions,
  questions: readonly Question[]
): Promise<(readonly [string, Result])[]> {
  const round = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, round.signal]) : round.signal;
  try {
    return await Promise.all(
      questions.map(async ({ key, method, params }) => {
        const answer = await options.asker
          .ask({ method, ...(params ? { params } : {}) }, { signal, timeout: options.answerTimeoutMs })
          .catch((error: unknown) => {
            if (!(error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout)) throw error;
            throw new GatewayError(
              'call_timeout',
              `server ${options.serverId} asked its caller ${method} and got no answer within ${options.answerTimeoutMs / 1000}s (callTimeout); the request was given up`,
              { cause: error, serverId: options.serverId }
            );
          });
        return [key, answer] as const;
      })
    );
  } catch (error) {
    round.abort(error);
    throw error;
  }
}
