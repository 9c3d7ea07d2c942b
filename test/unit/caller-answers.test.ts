import { describe, expect, it } from 'vitest';
import type { ClientCapabilities, Result } from '@modelcontextprotocol/client';
import { GatewayError } from '../../src/errors.js';
import { MAX_ROUNDS, withCallerAnswers, type Retry } from '../../src/upstream/caller-answers.js';
import type { ClientAsker } from '../../src/upstream/client-askers.js';

/** A caller that answers every question with what it was asked, recording each. */
function caller(capabilities: ClientCapabilities = { sampling: {}, roots: {}, elicitation: {} }) {
  const asked: { method: string; params?: Record<string, unknown> }[] = [];
  const asker: ClientAsker = {
    owner: 'alice',
    capabilities,
    ask: request => {
      asked.push(request);
      return Promise.resolve({ answered: request.method } as Result);
    }
  };
  return { asker, asked };
}

const inputRequired = (inputRequests: Record<string, unknown>, requestState?: string) => ({
  result: {
    resultType: 'input_required',
    inputRequests,
    ...(requestState === undefined ? {} : { requestState })
  }
});

const options = (asker: ClientAsker) => ({ serverId: 'srv', asker, answerTimeoutMs: 1_000 });

describe('withCallerAnswers', () => {
  it('returns a first answer as it is, having sent one round with nothing to retry', async () => {
    const { asker, asked } = caller();
    const sent: Retry[] = [];
    const outcome = await withCallerAnswers(options(asker), retry => {
      sent.push(retry);
      return Promise.resolve({ result: { content: [] }, cold: false });
    });
    expect(outcome).toEqual({ result: { content: [] }, cold: false });
    expect(sent).toEqual([{}]);
    expect(asked).toEqual([]);
  });

  it("asks the caller each question, and sends its answers with the server's state until it answers", async () => {
    const { asker, asked } = caller();
    const sent: Retry[] = [];
    const rounds = [
      inputRequired(
        {
          first: { method: 'roots/list' },
          second: { method: 'sampling/createMessage', params: { maxTokens: 5 } }
        },
        'state-1'
      ),
      inputRequired({ third: { method: 'elicitation/create', params: { message: 'name?' } } }),
      { result: { content: [{ type: 'text', text: 'done' }] } }
    ];
    const outcome = await withCallerAnswers(options(asker), retry => {
      sent.push(retry);
      return Promise.resolve(rounds[sent.length - 1]!);
    });
    expect(outcome.result).toEqual({ content: [{ type: 'text', text: 'done' }] });
    expect(asked).toEqual([
      { method: 'roots/list' },
      { method: 'sampling/createMessage', params: { maxTokens: 5 } },
      { method: 'elicitation/create', params: { message: 'name?' } }
    ]);
    expect(sent).toEqual([
      {},
      {
        inputResponses: {
          first: { answered: 'roots/list' },
          second: { answered: 'sampling/createMessage' }
        },
        requestState: 'state-1'
      },
      { inputResponses: { third: { answered: 'elicitation/create' } } }
    ]);
  });

  it('sends back a state that asks nothing, after a pause, and gives up after the round limit', async () => {
    const { asker } = caller();
    const sent: Retry[] = [];
    const began = performance.now();
    const outcome = withCallerAnswers(options(asker), retry => {
      sent.push(retry);
      return Promise.resolve(sent.length < 3 ? inputRequired({}, `state-${sent.length}`) : { result: {} });
    });
    await expect(outcome).resolves.toEqual({ result: {} });
    expect(performance.now() - began).toBeGreaterThanOrEqual(2 * 240);
    expect(sent).toEqual([{}, { requestState: 'state-1' }, { requestState: 'state-2' }]);

    let rounds = 0;
    const endless = withCallerAnswers(options(asker), () => {
      rounds++;
      return Promise.resolve(inputRequired({ again: { method: 'roots/list' } }));
    });
    await expect(endless).rejects.toMatchObject({
      code: 'invalid_result',
      message: `server srv asked for input ${MAX_ROUNDS} times in one request without answering; it was given up`
    });
    await expect(endless).rejects.toBeInstanceOf(GatewayError);
    expect(rounds).toBe(MAX_ROUNDS);
  });

  it('fails the request, asking no one, for a question the caller did not declare or no client answers', async () => {
    const { asker, asked } = caller({ roots: {} });
    await expect(
      withCallerAnswers(options(asker), () =>
        Promise.resolve(inputRequired({ q: { method: 'sampling/createMessage', params: {} } }))
      )
    ).rejects.toThrow(
      /cannot pass sampling\/createMessage from server srv.*did not declare the capability sampling/
    );
    await expect(
      withCallerAnswers(options(asker), () => Promise.resolve(inputRequired({ q: { method: 'tools/call' } })))
    ).rejects.toThrow(
      /server srv asked for input "q" with "tools\/call", which is not a question a client answers/
    );
    // A round with a question the caller can answer and one it cannot: neither is asked.
    await expect(
      withCallerAnswers(options(asker), () =>
        Promise.resolve(
          inputRequired({ a: { method: 'roots/list' }, b: { method: 'sampling/createMessage', params: {} } })
        )
      )
    ).rejects.toThrow(/did not declare the capability sampling/);
    expect(asked).toEqual([]);
  });

  it("ends with the caller's cancellation while it waits to send a state back", async () => {
    const { asker } = caller();
    const cancelled = new AbortController();
    const outcome = withCallerAnswers({ ...options(asker), signal: cancelled.signal }, () =>
      Promise.resolve(inputRequired({}, 'state'))
    );
    cancelled.abort(new Error('changed my mind'));
    await expect(outcome).rejects.toMatchObject({ name: 'AbortError' });
  });
});
