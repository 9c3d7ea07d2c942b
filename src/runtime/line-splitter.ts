import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each complete line of `stream` (without its newline). A final partial line is
 * delivered when the stream ends. Lines longer than `maxLength` are cut to it.
 */
export function forEachLine(stream: Readable, onLine: (line: string) => void, maxLength = 16 * 1024): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let index: number;
    while ((index = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, index).replace(/\r$/, '');
      pending = pending.slice(index + 1);
      if (line.length > 0) onLine(line.slice(0, maxLength));
    }
    if (pending.length > maxLength) {
      onLine(pending.slice(0, maxLength));
      pending = '';
    }
  });
  stream.on('end', () => {
    if (pending.length > 0) onLine(pending.slice(0, maxLength));
    pending = '';
  });
}
