import { deserializeMessage } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { brokenResponseOf, isJsonRpcMessage, parseJsonRpcLine } from '../../src/connectors/json-rpc-line.js';

describe('parseJsonRpcLine', () => {
  it('reads the four JSON-RPC shapes', () => {
    const messages = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } },
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
      { jsonrpc: '2.0', id: 7, result: { content: [] } },
      { jsonrpc: '2.0', id: 7, error: { code: -32601, message: 'Method not found', data: { x: 1 } } },
      { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } }
    ];
    for (const message of messages) expect(parseJsonRpcLine(JSON.stringify(message))).toEqual(message);
  });

  it('returns undefined for lines that are not JSON-RPC messages', () => {
    const lines = [
      'Server started on stdio',
      '',
      '[1,2,3]',
      'null',
      '"text"',
      '{"not":"json-rpc"}',
      '{"jsonrpc":"1.0","id":1,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
      '{"jsonrpc":"2.0","id":null,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}',
      '{"jsonrpc":"2.0","method":7}',
      '{"jsonrpc":"2.0","id":1,"result":[]}',
      '{"jsonrpc":"2.0","result":{}}',
      '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"x"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1}}',
      '{"jsonrpc":"2.0","id":1,"error":"boom"}',
      '{"jsonrpc":"2.0","id":1}'
    ];
    for (const line of lines) expect(parseJsonRpcLine(line), line).toBeUndefined();
  });

  it("accepts exactly the lines the SDK's own parser (deserializeMessage) accepts", () => {
    // Values near the four shapes: a valid message of each kind, with up to three keys (of the
    // message or of its error body) set to values of right and wrong types, or removed.
    const anyValue = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 4 }),
      fc.constant('2.0'),
      fc.constant([]),
      fc.constant({}),
      fc.constant({ a: 1 })
    );
    const base = fc.constantFrom<Record<string, unknown>>(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } },
      { jsonrpc: '2.0', id: 'r', method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/progress' },
      { jsonrpc: '2.0', id: 2, result: { content: [] } },
      { jsonrpc: '2.0', id: 3, error: { code: -1, message: 'm' } }
    );
    const keys = fc.constantFrom(
      'jsonrpc',
      'id',
      'method',
      'params',
      'result',
      'error',
      'extra',
      'code',
      'message'
    );
    const near = fc
      .tuple(base, fc.array(fc.tuple(keys, anyValue), { maxLength: 3 }))
      .map(([message, changes]) => {
        const changed: Record<string, unknown> = { ...message };
        for (const [key, value] of changes) {
          if ((key === 'code' || key === 'message') && typeof changed.error === 'object' && changed.error) {
            changed.error = { ...changed.error, [key]: value };
          } else changed[key] = value;
        }
        return changed;
      });
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(near, value => {
        // Through JSON, as a line would arrive (undefined values drop out).
        const line = JSON.stringify(value);
        const sdkAccepts = (() => {
          try {
            deserializeMessage(line);
            return true;
          } catch {
            return false;
          }
        })();
        expect(isJsonRpcMessage(JSON.parse(line))).toBe(sdkAccepts);
        expect(parseJsonRpcLine(line) !== undefined).toBe(sdkAccepts);
        if (sdkAccepts) accepted++;
        else refused++;
      }),
      { numRuns: 5_000 }
    );
    // Both sides of the line were exercised, not just one.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});

describe('brokenResponseOf', () => {
  it('turns an answer to a request that is no valid response into an internal error for its id', () => {
    const cases: [unknown, string][] = [
      [{ jsonrpc: '2.0', id: 3, result: null }, 'its result must be an object, not null'],
      [{ jsonrpc: '2.0', id: 'a', result: [] }, 'its result must be an object, not an array'],
      [{ jsonrpc: '2.0', id: 3, result: 'ok' }, 'its result must be an object, not a string'],
      [{ jsonrpc: '2.0', id: 3, result: {}, extra: 1 }, 'keys other than jsonrpc, id and result (extra)'],
      [{ jsonrpc: '2.0', id: 3, result: {}, error: { code: 1, message: 'x' } }, 'both a result and an error'],
      [{ jsonrpc: '2.0', id: 3, error: 'boom' }, 'its error must be an object, not a string'],
      [{ jsonrpc: '2.0', id: 3, error: { message: 'x' } }, 'its error code must be an integer'],
      [{ jsonrpc: '2.0', id: 3, error: { code: 1 } }, 'its error message must be a string']
    ];
    for (const [value, reason] of cases) {
      const line = JSON.stringify(value);
      const broken = brokenResponseOf(line, 'server alpha');
      expect(broken, line).toEqual({
        reason: expect.stringContaining(reason),
        response: {
          jsonrpc: '2.0',
          id: (value as { id: unknown }).id,
          error: {
            code: -32603,
            message: `server alpha answered this request with no valid JSON-RPC response: ${broken!.reason}`
          }
        }
      });
    }
  });

  it('leaves valid messages and lines that answer no request alone', () => {
    const lines = [
      '{"jsonrpc":"2.0","id":1,"result":{}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}',
      '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","result":null}',
      '{"jsonrpc":"2.0","result":null}',
      '{"jsonrpc":"2.0","id":null,"result":null}',
      '{"jsonrpc":"2.0","id":1.5,"result":null}',
      '{"jsonrpc":"1.0","id":1,"result":null}',
      '{"jsonrpc":"2.0","id":1}',
      'not json',
      'null'
    ];
    for (const line of lines) expect(brokenResponseOf(line), line).toBeUndefined();
  });

  it('never claims a line that parses as a message', () => {
    fc.assert(
      fc.property(fc.json(), line => {
        expect(brokenResponseOf(line) === undefined || parseJsonRpcLine(line) === undefined).toBe(true);
      })
    );
  });
});
