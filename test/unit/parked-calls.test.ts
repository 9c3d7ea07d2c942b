import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '@modelcontextprotocol/server';
import type { ClientAsker } from '../../src/upstream/client-askers.js';
import { ParkedCall, ParkedCalls } from '../../src/sessions/parked-calls.js';

/** A stand-in for the upstream request: the test asks through its asker and settles it by hand. */
function upstream() {
  let asker!: ClientAsker;
  let signal!: AbortSignal;
  let relay!: { onprogress: (progress: { progress: number }) => void };
  let finish!: (value: string) => void;
  let fail!: (error: unknown) => void;
  const call = new ParkedCall<string>({ roots: {}, sampling: {} }, (given, aborted, sinks) => {
    asker = given;
    signal = aborted;
    relay = sinks;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
  });
  const serverSide = new AbortController();
  return {
    call,
    get signal() {
      return signal;
    },
    ask: (method: 'roots/list' | 'sampling/createMessage', timeout = 60_000) =>
      asker.ask({ method }, { signal: serverSide.signal, timeout }),
    withdraw: () => serverSide.abort(new Error('server gave up')),
    progress: (value: number) => relay.onprogress({ progress: value }),
    finish: (value: string) => finish(value),
    fail: (error: unknown) => fail(error)
  };
}

const live = () => new AbortController().signal;

afterEach(() => {
  vi.useRealTimers();
});

describe('ParkedCall', () => {
  it('ends a round with the result when the server asks nothing', async () => {
    const up = upstream();
    const round = up.call.next(live(), {});
    up.finish('done');
    await expect(round).resolves.toEqual({ result: 'done' });
  });

  it("ends a round with the server's questions, and its answers reach the server", async () => {
    const up = upstream();
    const round = up.call.next(live(), {});
    const answered = up.ask('roots/list');
    const end = await round;
    expect(end).toEqual({ questions: { 'gateway-1': { method: 'roots/list' } } });
    up.call.answer({ 'gateway-1': { roots: [] }, unknown: { ignored: true } });
    await expect(answered).resolves.toEqual({ roots: [] });
    const next = up.call.next(live(), {});
    up.finish('after');
    await expect(next).resolves.toEqual({ result: 'after' });
  });

  it('gathers questions asked together into one round, and asks an unanswered one again', async () => {
    const up = upstream();
    const round = up.call.next(live(), {});
    void up.ask('roots/list');
    setTimeout(() => void up.ask('sampling/createMessage'), 1);
    const end = await round;
    expect(Object.keys((end as { questions: object }).questions)).toEqual(['gateway-1', 'gateway-2']);
    up.call.answer({ 'gateway-1': { roots: [] } });
    await expect(up.call.next(live(), {})).resolves.toEqual({
      questions: { 'gateway-2': { method: 'sampling/createMessage' } }
    });
  });

  it('drops a question the server withdraws', async () => {
    const up = upstream();
    const asked = up.ask('roots/list');
    up.withdraw();
    await expect(asked).rejects.toThrow('server gave up');
    const round = up.call.next(live(), {});
    up.finish('without');
    await expect(round).resolves.toEqual({ result: 'without' });
  });

  it("cancels the call when the round's caller cancels, refusing the server's open questions", async () => {
    const up = upstream();
    const asked = up.ask('roots/list');
    const caller = new AbortController();
    const round = up.call.next(caller.signal, {});
    await round;
    const second = up.call.next(caller.signal, {});
    caller.abort(new Error('client cancelled'));
    expect(up.signal.aborted).toBe(true);
    await expect(asked).rejects.toBeInstanceOf(ProtocolError);
    await expect(asked).rejects.toThrow('The calling client will not answer: client cancelled');
    up.fail(up.signal.reason);
    await expect(second).rejects.toThrow('client cancelled');
  });

  it('refuses the questions still open when the call ends, and any asked after', async () => {
    const up = upstream();
    const asked = up.ask('roots/list');
    up.finish('early');
    await expect(asked).rejects.toThrow('The call this request belongs to has ended');
    await expect(up.ask('roots/list')).rejects.toThrow('has ended');
    await expect(up.call.next(live(), {})).resolves.toEqual({ result: 'early' });
  });

  it("passes a failed call's error to the round", async () => {
    const up = upstream();
    const round = up.call.next(live(), {});
    up.fail(new Error('server exited'));
    await expect(round).rejects.toThrow('server exited');
  });

  it('sends progress to the running round only', async () => {
    const up = upstream();
    const seen: number[] = [];
    const round = up.call.next(live(), { onprogress: progress => seen.push(progress.progress) });
    up.progress(1);
    void up.ask('roots/list');
    await round;
    up.progress(2);
    expect(seen).toEqual([1]);
  });
});

describe('ParkedCalls', () => {
  it('gives a parked call back once, by id', async () => {
    const up = upstream();
    void up.ask('roots/list');
    await up.call.next(live(), {});
    const calls = new ParkedCalls();
    calls.park(up.call);
    expect(calls.size).toBe(1);
    expect(calls.take(up.call.id)).toBe(up.call);
    expect(calls.take(up.call.id)).toBeUndefined();
    expect(up.signal.aborted).toBe(false);
  });

  it("cancels a call not taken back within its questions' timeout", async () => {
    vi.useFakeTimers();
    const up = upstream();
    const asked = up.ask('roots/list', 5_000).catch((error: unknown) => error);
    const round = up.call.next(live(), {});
    await vi.advanceTimersByTimeAsync(20);
    await round;
    const calls = new ParkedCalls();
    calls.park(up.call);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.size).toBe(0);
    expect(up.signal.aborted).toBe(true);
    expect(await asked).toMatchObject({
      message: expect.stringContaining('did not come back with an answer within 5 s')
    });
  });
});
