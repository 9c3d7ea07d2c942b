import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamTransport } from '../../src/upstream/stream-transport.js';

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
    await expect(transport.send(request)).rejects.toThrow('transport closed');
    expect(output.read()).toBeNull();
  });

  it('rejects send after an explicit close', async () => {
    const { transport } = setup();
    await transport.start();
    await transport.close();
    await expect(transport.send(notification)).rejects.toThrow('transport closed');
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
