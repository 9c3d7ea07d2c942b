import type { Readable, Writable } from 'node:stream';
import { serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { parseJsonRpcLine } from './json-rpc-line.js';

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
 */
export class StreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called with each stdout line that is not a JSON-RPC message. */
  onnoise?: (line: string) => void;
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

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    /** Longest line accepted; the default is {@link MAX_LINE_BYTES}. */
    private readonly maxLineBytes = MAX_LINE_BYTES
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

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    return new Promise((resolve, reject) => {
      const flushed = this.output.write(serializeMessage(message), error => {
        if (error) reject(error);
      });
      if (flushed) resolve();
      else this.output.once('drain', resolve);
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
      this.deliver(line);
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
    if (this.onoverflow) this.onoverflow(bytes);
    else
      this.onerror?.(new Error(`a line from the server exceeded ${this.maxLineBytes} bytes and was dropped`));
  }

  private deliver(line: string): void {
    if (line.trim().length === 0) return;
    const message = parseJsonRpcLine(line);
    if (message) this.onmessage?.(message);
    else this.onnoise?.(line);
  }

  private readonly onEnd = () => {
    void this.close();
  };

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error);
  };
}
