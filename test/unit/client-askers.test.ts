import { describe, expect, it } from 'vitest';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import type { ClientCapabilities } from '@modelcontextprotocol/client';
import { ClientAskers, type ClientAsker } from '../../src/upstream/client-askers.js';

function asker(owner: string, capabilities: ClientCapabilities = {}): ClientAsker {
  return { owner, capabilities, ask: () => Promise.resolve({}) };
}

/** The error `pick` throws (failing the test when it picks someone). */
function refusal(pick: () => unknown): ProtocolError {
  let thrown: unknown;
  try {
    pick();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(ProtocolErrorCode.MethodNotFound);
  return thrown as ProtocolError;
}

describe('ClientAskers', () => {
  it('picks the one caller in flight, and no one once its request is over', () => {
    const askers = new ClientAskers('srv');
    const alice = asker('alice', { roots: {} });
    const leave = askers.add(alice);
    expect(askers.pick('roots/list', undefined)).toBe(alice);
    leave();
    expect(refusal(() => askers.pick('roots/list', undefined)).message).toMatch(
      /cannot pass roots\/list from server srv.*no call of a client is in flight/
    );
  });

  it("picks a session's caller when all requests in flight are that session's", () => {
    const askers = new ClientAskers('srv');
    const first = asker('s1', { sampling: {} });
    askers.add(first);
    askers.add(asker('s1', { sampling: {} }));
    expect(askers.pick('sampling/createMessage', undefined).owner).toBe('s1');
  });

  it('refuses when callers of different sessions, or one with no client, are in flight', () => {
    const askers = new ClientAskers('srv');
    askers.add(asker('s1', { sampling: {} }));
    const leave = askers.add(asker('s2', { sampling: {} }));
    expect(refusal(() => askers.pick('sampling/createMessage', undefined)).message).toMatch(
      /2 requests from different clients/
    );
    leave();
    askers.add(undefined);
    expect(refusal(() => askers.pick('sampling/createMessage', undefined)).message).toMatch(
      /different clients/
    );
  });

  it('refuses a method the caller did not declare, form and url elicitation apart', () => {
    const askers = new ClientAskers('srv');
    askers.add(asker('s1', { elicitation: {} }));
    expect(askers.pick('elicitation/create', { mode: 'form' }).owner).toBe('s1');
    expect(refusal(() => askers.pick('elicitation/create', { mode: 'url' })).message).toMatch(
      /did not declare the capability elicitation \(url mode\)/
    );
    expect(refusal(() => askers.pick('roots/list', undefined)).message).toMatch(
      /did not declare the capability roots/
    );
  });

  it('names why an unreachable caller cannot be asked', () => {
    const askers = new ClientAskers('srv');
    askers.add({ ...asker('m'), capabilities: undefined, unreachable: 'it speaks 2026-07-28' });
    expect(refusal(() => askers.pick('roots/list', undefined)).message).toMatch(
      /to a client: it speaks 2026-07-28/
    );
  });
});
