import type { Readable, Writable } from 'node:stream';
import { serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { UndeliveredError } from './connector.js';
import { brokenResponseOf, parseJsonRpcLine } from './json-rpc-line.js';

/** Longest line accepted from a server: a bigger one is dropped and reported, not buffered forever. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * MCP's stdio framing (newline-delimited JSON-RPC, the SDK's serializer and parser) over any pair
 * of byte streams: a child process's pipes or a container's attached stdio.
 *
 * Unlike the SDK's stdio transport it reports lines that are not JSON-RPC through `onnoise` and
 * carries on, because servers that print banners or debug output on stdout are common. A line longer
 * than `maxLineBytes` is dropped as soon as it passes the limit and reported through `onoverflow`;
 * everything up to its newline is skipped, so the next line is read whole. It does NOT own the
 * streams' source: `close()` stops reading and writing but leaves ending the process to its owner.
 *
 * Messages are handed over in the order they were read, and each request or notification gets one
 * microtask of its own before the next message: the SDK's protocol layer dispatches those a
 * microtask later but handles a response at once, so a final progress notification read in the
 * same chunk as its result would otherwise reach the client after the result had removed its
 * progress handler, and be dropped. Lines that arrive one to a chunk (the common case) are handed
 * over at once.
 */
export class StreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called with each stdout line that is not a JSON-RPC message (nor an answer to a request). */
  onnoise?: (line: string) => void;
  /**
   * Called with each line that answers a request but is no valid response, and what is wrong with
   * it; the request then gets an internal error in its place (see `brokenResponseOf`).
   */
  onbroken?: (line: string, reason: string) => void;
  /**
   * Called when a line passes `maxLineBytes`, with the bytes seen of it; the line is dropped. Without
   * it, the overflow is reported through `onerror`.
   */
  onoverflow?: (bytes: number) => void;
  /**
   * `stderr` and `pid` make the SDK's era probe treat this as stdio (it looks for both): there a
   * probe that gets no answer means a 2025-era server to `initialize`, not an outage. The probe
   * runs in place, on these streams. Neither is used otherwise.
   */
  readonly stderr = null;
  readonly pid = null;

  private chunks: Buffer[] = [];
  private buffered = 0;
  /** True while skipping the rest of a line that passed the limit. */
  private skipping = false;
  private closed = false;
  /** What was read while a handed-over message waits for its dispatch: lines, and overflows' sizes. */
  private backlog: (string | number)[] = [];
  /** How many of `backlog` have been handed over. */
  private handed = 0;
  /** True while a microtask is due to hand over the backlog. */
  private waiting = false;
  /** True when the input ended while `waiting`: the backlog is handed over before closing. */
  private ending = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    /** Longest line accepted; the default is {@link MAX_LINE_BYTES}. */
    private readonly maxLineBytes = MAX_LINE_BYTES,
    /** Who writes the input, as errors name it ("server github"). */
    private readonly writer = 'the server'
  ) {}

  start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.output.once('close', this.onEnd);
    this.input.on('error', this.onStreamError);
    this.output.on('error', this.onStreamError);
    return Promise.resolve();
  }

  /**
   * Writes `message` as one line. Rejects with {@link UndeliveredError} when it cannot be written: the
   * transport is closed, or the stream refused the write (EPIPE: the server no longer reads its
   * stdin, as when it has exited and its end is not seen yet), so it never reached the server and
   * may be sent again on a new connection.
   */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new UndeliveredError('the connection to the server is closed'));
    return new Promise((resolve, reject) => {
      const drained = () => resolve();
      const flushed = this.output.write(serializeMessage(message), error => {
        if (!error) return;
        this.output.off('drain', drained); // a failed stream drains no more
        reject(
          new UndeliveredError(`the server no longer reads its input (${error.message})`, { cause: error })
        );
      });
      if (flushed) resolve();
      else this.output.once('drain', drained);
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.output.off('close', this.onEnd);
    this.chunks = [];
    this.buffered = 0;
    this.backlog = [];
    this.handed = 0;
    this.onclose?.();
    return Promise.resolve();
  }

  private readonly onData = (chunk: Buffer | string) => {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.skipping) {
      const newline = data.indexOf(0x0a);
      if (newline === -1) return;
      this.skipping = false;
      data = data.subarray(newline + 1);
    }
    let newline: number;
    while ((newline = data.indexOf(0x0a)) !== -1) {
      if (this.buffered + newline > this.maxLineBytes) {
        this.overflow(this.buffered + newline);
        if (this.closed) return;
        data = data.subarray(newline + 1);
        continue;
      }
      // A line that arrived whole (the usual case) is decoded in place, without a copy.
      const end = newline > 0 && data[newline - 1] === 0x0d ? newline - 1 : newline;
      let line: string;
      if (this.chunks.length === 0) line = data.toString('utf8', 0, end);
      else {
        this.chunks.push(data.subarray(0, newline));
        line = Buffer.concat(this.chunks).toString('utf8').replace(/\r$/, '');
        this.chunks = [];
      }
      this.buffered = 0;
      this.receive(line);
      if (this.closed) return;
      data = data.subarray(newline + 1);
    }
    if (data.length === 0) return;
    if (this.buffered + data.length > this.maxLineBytes) {
      this.overflow(this.buffered + data.length);
      this.skipping = true;
      return;
    }
    this.buffered += data.length;
    this.chunks.push(data);
  };

  /** Drops the line being read, which passed the limit after `bytes`. */
  private overflow(bytes: number): void {
    this.chunks = [];
    this.buffered = 0;
    this.receive(bytes);
  }

  /** Hands over a line (or an overflow's size) now, or after the backlog if one is waiting. */
  private receive(item: string | number): void {
    if (this.waiting || this.backlog.length > 0) this.backlog.push(item);
    else this.deliver(item);
  }

  private deliver(item: string | number): void {
    if (typeof item === 'number') {
      if (this.onoverflow) this.onoverflow(item);
      else
        this.onerror?.(
          new Error(`a line from the server exceeded ${this.maxLineBytes} bytes and was dropped`)
        );
      return;
    }
    if (item.trim().length === 0) return;
    const message = parseJsonRpcLine(item);
    if (!message) {
      const broken = brokenResponseOf(item, this.writer);
      if (!broken) {
        this.onnoise?.(item);
        return;
      }
      this.onbroken?.(item, broken.reason);
      this.onmessage?.(broken.response);
      return;
    }
    this.onmessage?.(message);
    // Queued after the SDK's own dispatch of this message, so that runs first (see the class doc).
    if ('method' in message && !this.waiting) {
      this.waiting = true;
      queueMicrotask(this.deliverBacklog);
    }
  }

  private readonly deliverBacklog = () => {
    this.waiting = false;
    while (!this.waiting && !this.closed && this.handed < this.backlog.length)
      this.deliver(this.backlog[this.handed++]!);
    if (this.waiting || this.closed) return;
    this.backlog = [];
    this.handed = 0;
    if (this.ending) void this.close();
  };

  private readonly onEnd = () => {
    if (this.waiting) this.ending = true;
    else void this.close();
  };

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error);
  };
}
