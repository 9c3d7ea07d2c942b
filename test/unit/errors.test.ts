import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { GatewayError, toProtocolError } from '../../src/errors.js';

describe('toProtocolError', () => {
  it("drops the `MCP error <code>: ` a 2025-era SDK server bakes into its message, so clients don't double it", () => {
    // What a server on the 2025-era SDK sends: its McpError's message, which its constructor
    // prefixed (`super(\`MCP error ${code}: ${message}\`)`), and which a client of that SDK, given
    // the code and message, prefixes again the same way.
    const v1Message = (code: number, message: string) => `MCP error ${code}: ${message}`;
    const onTheWire = v1Message(ProtocolErrorCode.InvalidParams, 'Tool nope not found');
    const relayed = toProtocolError(new ProtocolError(ProtocolErrorCode.InvalidParams, onTheWire, { x: 1 }));
    expect(relayed.message).toBe('Tool nope not found');
    expect(relayed.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(relayed.data).toEqual({ x: 1 });
    expect(v1Message(relayed.code, relayed.message)).toBe('MCP error -32602: Tool nope not found');
  });

  it("passes a server's error without a baked-in prefix through unchanged", () => {
    const error = new ProtocolError(ProtocolErrorCode.InvalidParams, 'Unknown tool: nope');
    expect(toProtocolError(error)).toBe(error);
  });

  it('keeps the message of a GatewayError and carries its code and server in data', () => {
    const wire = toProtocolError(new GatewayError('server_exited', 'server a exited (x)', { serverId: 'a' }));
    expect(wire.message).toBe('server a exited (x)');
    expect(wire.data).toEqual({ reason: 'server_exited', server: 'a' });
  });
});
