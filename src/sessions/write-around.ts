import type { ServerResponse } from 'node:http';

/**
 * Writes `head`, `bytes` and `tail` as the rest of a response's body and ends it, without copying
 * `bytes` (a kept page, shared by every answer): the three go out in one write where the socket
 * takes them. The headers must have been set. Uncorked before `end()`: a chunked response (no
 * `content-length`) ended while corked loses what was corked after its first chunk (Node.js 24).
 */
export function writeAround(
  res: ServerResponse,
  head: string | Buffer,
  bytes: Buffer,
  tail: string | Buffer
): void {
  res.cork();
  res.write(head);
  res.write(bytes);
  res.write(tail);
  res.uncork();
  res.end();
}
