import { write, writeSync } from 'node:fs';

/** Past this many characters waiting to be written, new lines are dropped rather than held. */
const MAX_QUEUED = 1 << 20;
/** How long to wait before writing again to a destination that would block (EAGAIN). */
const RETRY_MS = 50;

/**
 * Where pino writes: log lines, in order, to a file descriptor, without blocking the event loop.
 *
 * Logging never takes the process down and never holds it up. A write the destination refuses
 * (a full disk, a closed pipe) drops the lines it carried; a line that finds 1 MiB already
 * waiting (a destination that stopped reading) is dropped too. Every dropped line is counted in
 * {@link dropped}, and later lines are tried again, so logging resumes when the destination does.
 * The file descriptor is the caller's: this never closes it.
 */
export class LogDestination {
  private queue: string[] = [];
  private queued = 0;
  private writing = false;
  private droppedLines = 0;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly fd: number) {}

  /** Lines dropped so far. */
  get dropped(): number {
    return this.droppedLines;
  }

  /** pino's stream interface: `line` is one or more whole lines. Never throws. */
  write(line: string): boolean {
    if (this.queued + line.length > MAX_QUEUED) {
      this.droppedLines += countLines(line);
      return true;
    }
    this.queue.push(line);
    this.queued += line.length;
    if (!this.writing) this.writeQueued();
    return true;
  }

  /** Calls `done` once everything written so far has reached the destination or been dropped. */
  flush(done: () => void = () => {}): void {
    if (this.writing) this.idle.push(done);
    else done();
  }

  /** Writes what is queued now, synchronously (for an exit path); lines it cannot write are dropped. */
  flushSync(): void {
    if (this.writing) return; // the write in flight owns the queue's order
    const chunk = Buffer.from(this.take());
    let offset = 0;
    try {
      while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset);
    } catch {
      this.droppedLines += countLines(chunk.subarray(offset));
    }
  }

  private take(): string {
    const text = this.queue.join('');
    this.queue = [];
    this.queued = 0;
    return text;
  }

  private writeQueued(): void {
    if (this.queue.length === 0) {
      this.writing = false;
      for (const done of this.idle.splice(0)) done();
      return;
    }
    this.writing = true;
    this.writeChunk(Buffer.from(this.take()), 0);
  }

  private writeChunk(chunk: Buffer, offset: number): void {
    write(this.fd, chunk, offset, chunk.length - offset, null, (error, written) => {
      if (error?.code === 'EAGAIN') {
        setTimeout(() => this.writeChunk(chunk, offset), RETRY_MS);
      } else if (error) {
        this.droppedLines += countLines(chunk.subarray(offset));
        this.writeQueued();
      } else if (offset + written < chunk.length) {
        this.writeChunk(chunk, offset + written);
      } else {
        this.writeQueued();
      }
    });
  }
}

/** Lines begun in `text` (a partly written line counts as dropped). */
function countLines(text: string | Buffer): number {
  let lines = 0;
  let index = -1;
  while ((index = text.indexOf('\n', index + 1)) !== -1) lines++;
  return lines;
}
