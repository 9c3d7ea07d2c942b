/** Characters kept of one line; the rest is cut (a tail is for reading, not for a server's dumps). */
const MAX_LINE_CHARS = 1000;

/**
 * The last `size` lines of a stream, oldest first: what a server wrote to stderr, for the status
 * views (`/api/servers`, the dashboard), so a failing server can be read without the gateway's log.
 * Bounded: at most `size` lines of at most 1000 characters each.
 */
export class LineTail {
  private readonly lines: string[] = [];
  /** Lines pushed ever, for {@link since}. */
  private pushed = 0;

  constructor(private readonly size: number) {}

  push(line: string): void {
    this.lines.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    this.pushed++;
    if (this.lines.length > this.size) this.lines.shift();
  }

  /** A reader of the lines pushed from now on (those still kept, oldest first). */
  since(): () => string[] {
    const mark = this.pushed;
    return () => this.lines.slice(Math.max(0, this.lines.length - (this.pushed - mark)));
  }

  /** The kept lines, oldest first (a copy). */
  read(): string[] {
    return [...this.lines];
  }
}
