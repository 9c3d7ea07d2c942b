import { PassThrough, Writable } from 'node:stream';
import { Client, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UndeliveredError } from '../../src/connectors/connector.js';
import { StreamTransport } from '../../src/connectors/stream-transport.js';

/** A transport over in-memory streams: `input` plays the server's stdout, `output` its stdin. */
function setup() {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new StreamTransport(input, output);
  const messages: JSONRPCMessage[] = [];
  const noise: string[] = [];
  const errors: Error[] = [];
  let closes = 0;
  transport.onmessage = message => messages.push(message);
  transport.onnoise = line => noise.push(line);
  transport.onerror = error => errors.push(error);
  transport.onclose = () => closes++;
  opened.push(transport);
  return { input, output, transport, messages, noise, errors, closes: () => closes };
}

const opened: StreamTransport[] = [];
afterEach(async () => {
  while (opened.length > 0) await opened.pop()!.close();
});

/** Everything written to a stream so far, as lines. */
function written(stream: PassThrough): string[] {
  const chunks: Buffer[] = [];
  let chunk: Buffer | null;
  while ((chunk = stream.read() as Buffer | null) !== null) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').split('\n');
}

const tick = () => new Promise(resolve => setImmediate(resolve));

const request: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const response: JSONRPCMessage = {
  jsonrpc: '2.0',
  id: 1,
  result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }
};
const notification: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };

describe('StreamTransport', () => {
  it('writes each message as one JSON line', async () => {
    const { output, transport } = setup();
    await transport.start();
    await transport.send(request);
    await transport.send(notification);
    const lines = written(output);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual(request);
    expect(JSON.parse(lines[1]!)).toEqual(notification);
  });

  it('round-trips messages between two transports over a pair of streams', async () => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const client = new StreamTransport(toClient, toServer);
    const server = new StreamTransport(toServer, toClient);
    opened.push(client, server);
    const atServer: JSONRPCMessage[] = [];
    const atClient: JSONRPCMessage[] = [];
    server.onmessage = message => {
      atServer.push(message);
      if ('id' in message && 'method' in message) void server.send({ ...response, id: message.id });
    };
    client.onmessage = message => atClient.push(message);
    await client.start();
    await server.start();

    await client.send(request);
    await client.send(notification);
    await vi.waitFor(() => expect(atClient).toHaveLength(1));
    expect(atServer).toEqual([request, notification]);
    expect(atClient).toEqual([response]);
  });

  it('parses a message split across chunks', async () => {
    const { input, transport, messages, noise } = setup();
    await transport.start();
    const line = JSON.stringify(response) + '\n';
    const bytes = Buffer.from(line);
    for (let i = 0; i < bytes.length; i += 7) {
      input.write(bytes.subarray(i, i + 7));
      await tick();
      if (i + 7 < bytes.length) expect(messages).toHaveLength(0);
    }
    await tick();
    expect(messages).toEqual([response]);
    expect(noise).toEqual([]);
  });

  it('reassembles a multi-byte character split between chunks', async () => {
    const { input, transport, messages } = setup();
    await transport.start();
    const message: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { text: 'héllo €' }
    };
    const bytes = Buffer.from(JSON.stringify(message) + '\n');
    const euro = bytes.indexOf(Buffer.from('€'));
    input.write(bytes.subarray(0, euro + 1));
    await tick();
    input.write(bytes.subarray(euro + 1));
    await tick();
    expect(messages).toEqual([message]);
  });

  it('parses several messages in one chunk, with CRLF endings and blank lines', async () => {
    const { input, transport, messages, noise } = setup();
    await transport.start();
    input.write(
      `${JSON.stringify(request)}\n${JSON.stringify(notification)}\r\n\n   \n${JSON.stringify(response)}\n`
    );
    await tick();
    expect(messages).toEqual([request, notification, response]);
    expect(noise).toEqual([]);
  });

  it('keeps a trailing partial message until its newline arrives', async () => {
    const { input, transport, messages } = setup();
    await transport.start();
    const second = JSON.stringify(response);
    input.write(`${JSON.stringify(notification)}\n${second.slice(0, 10)}`);
    await tick();
    expect(messages).toEqual([notification]);
    input.write(`${second.slice(10)}\n`);
    await tick();
    expect(messages).toEqual([notification, response]);
  });

  it('reports non-JSON lines and non-JSON-RPC JSON as noise and keeps going', async () => {
    const { input, transport, messages, noise, errors, closes } = setup();
    await transport.start();
    input.write('server starting up...\n');
    input.write('{"not":"json-rpc"}\n[1,2,3]\n');
    input.write(`42\n{"jsonrpc":"2.0"}\n${JSON.stringify(response)}\n{broken json\n`);
    input.write(`${JSON.stringify(notification)}\n`);
    await tick();
    expect(noise).toEqual([
      'server starting up...',
      '{"not":"json-rpc"}',
      '[1,2,3]',
      '42',
      '{"jsonrpc":"2.0"}',
      '{broken json'
    ]);
    expect(messages).toEqual([response, notification]);
    expect(errors).toEqual([]);
    expect(closes()).toBe(0);
  });

  it('hands over an internal error in place of an answer to a request that is no valid response', async () => {
    const { input, transport, messages, noise } = setup();
    const broken: [string, string][] = [];
    transport.onbroken = (line, reason) => broken.push([line, reason]);
    await transport.start();
    input.write('{"jsonrpc":"2.0","id":4,"result":null}\n');
    await tick();
    expect(messages).toEqual([
      {
        jsonrpc: '2.0',
        id: 4,
        error: {
          code: -32603,
          message:
            'the server answered this request with no valid JSON-RPC response: its result must be an object, not null'
        }
      }
    ]);
    expect(broken).toEqual([
      ['{"jsonrpc":"2.0","id":4,"result":null}', 'its result must be an object, not null']
    ]);
    expect(noise).toEqual([]);
  });

  it('hands a lone message over at once, and in a burst gives each notification a microtask before the next', async () => {
    const { input, transport, messages, noise } = setup();
    await transport.start();
    input.emit('data', Buffer.from(`${JSON.stringify(response)}\n`));
    expect(messages).toEqual([response]);

    const progress: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 1, progress: 1 }
    };
    const later: string[] = [];
    transport.onmessage = message => {
      messages.push(message);
      // Stands for the SDK, which dispatches a notification one microtask after receiving it.
      if (!('id' in message)) queueMicrotask(() => later.push('dispatched'));
      else later.push('response');
    };
    input.emit(
      'data',
      Buffer.from(
        `${JSON.stringify(progress)}\nnoise\n${JSON.stringify(response)}\n${JSON.stringify(notification)}\n`
      )
    );
    expect(messages).toEqual([response, progress]);
    await tick();
    expect(messages).toEqual([response, progress, response, notification]);
    expect(noise).toEqual(['noise']);
    expect(later).toEqual(['dispatched', 'response', 'dispatched']);
  });

  it('hands over what was read before closing when the input ends right after a burst', async () => {
    const { input, transport } = setup();
    const events: string[] = [];
    transport.onmessage = message => events.push('id' in message ? 'response' : 'notification');
    transport.onclose = () => events.push('closed');
    await transport.start();
    input.emit('data', Buffer.from(`${JSON.stringify(notification)}\n${JSON.stringify(response)}\n`));
    input.emit('end');
    await tick();
    expect(events).toEqual(['notification', 'response', 'closed']);
  });

  it('accepts string chunks', async () => {
    const { input, transport, messages } = setup();
    input.setEncoding('utf8');
    await transport.start();
    input.write(`${JSON.stringify(notification)}\n`);
    await tick();
    expect(messages).toEqual([notification]);
  });

  it('calls onclose once when the input stream ends', async () => {
    const { input, transport, closes } = setup();
    await transport.start();
    input.end();
    await vi.waitFor(() => expect(closes()).toBe(1));
    input.destroy();
    await tick();
    await transport.close();
    await tick();
    expect(closes()).toBe(1);
  });

  it('calls onclose once when the input stream is destroyed', async () => {
    const { input, transport, closes } = setup();
    await transport.start();
    input.destroy();
    await vi.waitFor(() => expect(closes()).toBe(1));
    await tick();
    expect(closes()).toBe(1);
  });

  it('calls onclose once when the output stream closes', async () => {
    const { output, transport, closes } = setup();
    await transport.start();
    output.destroy();
    await vi.waitFor(() => expect(closes()).toBe(1));
    await transport.close();
    expect(closes()).toBe(1);
  });

  it('calls onclose once on close(), however often it is called', async () => {
    const { transport, closes } = setup();
    await transport.start();
    await Promise.all([transport.close(), transport.close()]);
    await transport.close();
    expect(closes()).toBe(1);
  });

  it('rejects send after close, and writes nothing', async () => {
    const { input, output, transport, closes } = setup();
    await transport.start();
    input.end();
    await vi.waitFor(() => expect(closes()).toBe(1));
    await expect(transport.send(request)).rejects.toBeInstanceOf(UndeliveredError);
    expect(output.read()).toBeNull();
  });

  it('rejects send after an explicit close', async () => {
    const { transport } = setup();
    await transport.start();
    await transport.close();
    await expect(transport.send(notification)).rejects.toThrow(
      new UndeliveredError('the connection to the server is closed')
    );
  });

  it('rejects a send the stream refuses (EPIPE) as undelivered, naming the cause', async () => {
    const input = new PassThrough();
    const refused = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const output = new Writable({ write: (_chunk, _encoding, callback) => callback(refused) });
    const transport = new StreamTransport(input, output);
    opened.push(transport);
    transport.onerror = () => undefined; // the stream's own error event
    await transport.start();
    const sent = transport.send(request);
    await expect(sent).rejects.toBeInstanceOf(UndeliveredError);
    await expect(sent).rejects.toMatchObject({
      message: 'the server no longer reads its input (write EPIPE)',
      cause: refused
    });
  });

  it('leaves no drain listener behind a write that waited for drain and then failed', async () => {
    const input = new PassThrough();
    const refused = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const output = new Writable({
      highWaterMark: 1, // every write waits for drain
      write: (_chunk, _encoding, callback) => setImmediate(() => callback(refused))
    });
    const transport = new StreamTransport(input, output);
    opened.push(transport);
    transport.onerror = () => undefined;
    await transport.start();
    await expect(transport.send(request)).rejects.toBeInstanceOf(UndeliveredError);
    expect(output.listenerCount('drain')).toBe(0);
  });

  it('delivers nothing after close', async () => {
    const { input, transport, messages, noise } = setup();
    await transport.start();
    await transport.close();
    input.write(`${JSON.stringify(notification)}\nnoise\n`);
    await tick();
    expect(messages).toEqual([]);
    expect(noise).toEqual([]);
  });

  it('stops delivering the rest of a chunk once a message handler closes the transport', async () => {
    const { input, transport, messages } = setup();
    transport.onmessage = message => {
      messages.push(message);
      void transport.close();
    };
    await transport.start();
    input.write(`${JSON.stringify(request)}\n${JSON.stringify(notification)}\n`);
    await tick();
    expect(messages).toEqual([request]);
  });

  it('reports stream errors through onerror', async () => {
    const { input, transport, errors } = setup();
    await transport.start();
    input.destroy(new Error('read failed'));
    await vi.waitFor(() => expect(errors.map(e => e.message)).toContain('read failed'));
  });

  it('waits for drain when the output is backed up', async () => {
    const input = new PassThrough();
    const output = new PassThrough({ highWaterMark: 16 });
    const transport = new StreamTransport(input, output);
    opened.push(transport);
    await transport.start();
    let sent = false;
    const sending = transport.send(response).then(() => (sent = true));
    await tick();
    expect(sent).toBe(false);
    output.resume();
    await sending;
    expect(sent).toBe(true);
  });

  it('drops a line over the limit as it passes it, skips the rest of it, and reads the next line whole', async () => {
    const input = new PassThrough();
    const transport = new StreamTransport(input, new PassThrough(), 100);
    opened.push(transport);
    const messages: JSONRPCMessage[] = [];
    const noise: string[] = [];
    const overflows: number[] = [];
    transport.onmessage = message => messages.push(message);
    transport.onnoise = line => noise.push(line);
    transport.onoverflow = bytes => overflows.push(bytes);
    await transport.start();
    const long = JSON.stringify({ ...response, result: { text: 'x'.repeat(300) } });
    input.write(long.slice(0, 60));
    input.write(long.slice(60, 150)); // passes the limit without a newline yet
    await tick();
    expect(overflows).toEqual([150]);
    input.write(long.slice(150, 250));
    input.write(`${long.slice(250)}\n${JSON.stringify(response)}\n`);
    // A whole over-long line in one chunk is dropped too.
    input.write(`${long}\n${JSON.stringify(notification)}\n`);
    await tick();
    expect(overflows).toEqual([150, long.length]);
    expect(messages).toEqual([response, notification]);
    expect(noise).toEqual([]);
  });
});

describe('StreamTransport under an SDK client', () => {
  /**
   * A server played by hand over in-memory streams: it answers `initialize`, and answers each
   * `tools/call` by writing its last progress notification and its result at once: in ONE chunk,
   * as a server's stdout often delivers them, or in two chunks emitted back to back, as Docker's
   * demultiplexer writes the frames of one read.
   */
  async function connectToBurstingServer(chunks: 'one chunk' | 'two chunks') {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const transport = new StreamTransport(toClient, toServer);
    const errors: Error[] = [];
    const reply = (message: object) => `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`;
    let pending = '';
    toServer.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const message = JSON.parse(pending.slice(0, newline)) as {
          id?: number;
          method: string;
          params: { protocolVersion?: string; _meta?: { progressToken?: number } };
        };
        pending = pending.slice(newline + 1);
        if (message.method === 'initialize') {
          toClient.write(
            reply({
              id: message.id,
              result: {
                protocolVersion: message.params.protocolVersion,
                capabilities: { tools: {} },
                serverInfo: { name: 'burst', version: '1.0.0' }
              }
            })
          );
        } else if (message.method === 'tools/call') {
          const progressToken = message.params._meta?.progressToken;
          const progress = reply({
            method: 'notifications/progress',
            params: { progressToken, progress: 1, total: 1 }
          });
          const result = reply({ id: message.id, result: { content: [{ type: 'text', text: 'done' }] } });
          if (chunks === 'one chunk') toClient.write(progress + result);
          else {
            toClient.emit('data', Buffer.from(progress));
            toClient.emit('data', Buffer.from(result));
          }
        }
      }
    });
    const client = new Client({ name: 'test', version: '0.0.0' }, { versionNegotiation: { mode: 'legacy' } });
    client.onerror = error => errors.push(error);
    await client.connect(transport);
    opened.push(transport);
    return { client, errors };
  }

  it.each(['one chunk', 'two chunks'] as const)(
    'hands a final progress notification to the client before the result read with it (%s)',
    async chunks => {
      const { client, errors } = await connectToBurstingServer(chunks);
      for (let call = 0; call < 50; call++) {
        const progress: number[] = [];
        const result = await client.callTool(
          { name: 'work', arguments: {} },
          { onprogress: p => progress.push(p.progress) }
        );
        expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
        expect({ call, progress }).toEqual({ call, progress: [1] });
      }
      expect(errors).toEqual([]);
    }
  );
});
