import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAround } from '../../src/sessions/write-around.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise(resolve => server?.close(resolve));
  server = undefined;
});

/** The body a client receives from a server whose every answer is `respond(res)`. */
async function received(
  respond: (res: http.ServerResponse) => void
): Promise<{ body: string; headers: Headers }> {
  server = http.createServer((_req, res) => respond(res));
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve));
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return { body: await response.text(), headers: response.headers };
}

describe('writeAround', () => {
  it('delivers all three parts of a chunked answer (no content-length), as an SSE stream is', async () => {
    const { body, headers } = await received(res => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      writeAround(res, 'event: message\ndata: {"result":', Buffer.from('{"tools":[]}'), ',"id":1}\n\n');
    });
    expect(headers.get('transfer-encoding')).toBe('chunked');
    expect(body).toBe('event: message\ndata: {"result":{"tools":[]},"id":1}\n\n');
  });

  it('delivers them with a content-length, leaving the kept bytes as they were', async () => {
    const page = Buffer.from('{"tools":[{"name":"a"}]}');
    const copy = Buffer.from(page);
    const [head, tail] = [Buffer.from('{"result":'), Buffer.from(',"id":"x"}')];
    const { body } = await received(res => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': head.length + page.length + tail.length
      });
      writeAround(res, head, page, tail);
    });
    expect(body).toBe('{"result":{"tools":[{"name":"a"}]},"id":"x"}');
    expect(page.equals(copy)).toBe(true);
  });
});
