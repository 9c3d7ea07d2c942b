/** Characters kept of one line; the rest is cut (a tail is for reading, not for a server's dumps). */
const MAX_LINE_CHARS = 1000;

/**
 * The last `size` lines of a stream, oldest first: what a server wrote to stderr, for the status
 * views (`/api/servers`, the dashboard), so a failing server can be read without the gateway's log.
 * Bounded: at most `size` lines of at most 1000 characters each.
 */
export class LineTail {
  private readonly lines: string[] = [];

  constructor(private readonly size: number) {}

  push(line: string): void {
    this.lines.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  /** The kept lines, oldest first (a copy). */
  read(): string[] {
    return [...this.lines];
  }
}
