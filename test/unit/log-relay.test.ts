import { describe, expect, it } from 'vitest';
import type { Server } from '@modelcontextprotocol/server';
import { LogRelay, type LogMessage } from '../../src/upstream/log-relay.js';
import { admits, SessionLogLevels } from '../../src/sessions/session-log-levels.js';

const message = (level: LogMessage['level'], data: unknown = level): LogMessage => ({ level, data });

describe('LogRelay', () => {
  it('hands a message to every request in flight, and to the unsolicited handler only with none', () => {
    const unsolicited: unknown[] = [];
    const relay = new LogRelay(m => unsolicited.push(m.data));
    const a: unknown[] = [];
    const b: unknown[] = [];
    const closeA = relay.open(m => a.push(m.data));
    const closeB = relay.open(m => b.push(m.data));
    const closeQuiet = relay.open(undefined);
    relay.deliver(message('info', 'both'));
    closeA();
    relay.deliver(message('info', 'b only'));
    closeB();
    relay.deliver(message('info', 'a request that wants none'));
    closeQuiet();
    relay.deliver(message('info', 'nobody in flight'));
    expect(a).toEqual(['both']);
    expect(b).toEqual(['both', 'b only']);
    expect(unsolicited).toEqual(['nobody in flight']);
  });
});

describe('admits', () => {
  it('takes a level and everything more severe', () => {
    expect(admits('warning', 'warning')).toBe(true);
    expect(admits('warning', 'emergency')).toBe(true);
    expect(admits('warning', 'notice')).toBe(false);
    expect(admits('debug', 'debug')).toBe(true);
  });
});

describe('SessionLogLevels', () => {
  /** A stand-in for a session's server: records what it is sent, closes on demand. */
  function fakeServer() {
    const sent: unknown[] = [];
    const server = {
      onclose: undefined as (() => void) | undefined,
      notification: (notification: { params: LogMessage }) => {
        sent.push(notification.params.data);
        return Promise.resolve();
      }
    };
    return { server, asServer: server as unknown as Server, sent };
  }

  it('broadcasts to sessions whose level admits the message and whose principal may use the server', () => {
    const levels = new SessionLogLevels(
      (principal, serverId) => principal?.servers?.includes(serverId) ?? true
    );
    const info = fakeServer();
    const error = fakeServer();
    const elsewhere = fakeServer();
    levels.set(info.asServer, 'info', undefined);
    levels.set(error.asServer, 'error', undefined);
    levels.set(elsewhere.asServer, 'debug', {
      id: 'token:x',
      kind: 'token',
      admin: false,
      servers: ['other']
    });
    levels.broadcast('fs', message('warning', 'w'));
    expect(info.sent).toEqual(['w']);
    expect(error.sent).toEqual([]);
    expect(elsewhere.sent).toEqual([]);
  });

  it('forgets a session when its server closes, keeping the close handler it had', () => {
    const levels = new SessionLogLevels(() => true);
    const session = fakeServer();
    let closedBefore = false;
    session.server.onclose = () => (closedBefore = true);
    levels.set(session.asServer, 'debug', undefined);
    levels.set(session.asServer, 'info', undefined);
    session.server.onclose();
    levels.broadcast('fs', message('error'));
    expect(session.sent).toEqual([]);
    expect(closedBefore).toBe(true);
  });
});
