import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAnswers } from '../../src/sessions/open-answers.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise(resolve => server?.close(resolve));
  server = undefined;
});

/** A response whose caller has gone: the client sends a request and disconnects before any answer. */
async function abandonedResponse(): Promise<http.ServerResponse> {
  const arrived = new Promise<http.ServerResponse>(resolve => {
    server = http.createServer((_req, res) => resolve(res));
  });
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve));
  const request = http.request({ port: (server!.address() as AddressInfo).port, method: 'POST' });
  request.on('error', () => {});
  request.end('{}');
  const res = await arrived;
  request.destroy();
  await once(res, 'close');
  return res;
}

describe('OpenAnswers', () => {
  it('settles once the responses it tracks close', async () => {
    const answers = new OpenAnswers();
    const res = await new Promise<http.ServerResponse>(resolve => {
      server = http.createServer((_req, response) => resolve(response));
      server.listen(0, '127.0.0.1', () => {
        http.get(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, response =>
          response.resume()
        );
      });
    });
    answers.track(res);
    let settled = false;
    void answers.settled().then(() => (settled = true));
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    res.end('done');
    await answers.settled();
  });

  it('does not wait on a response already closed when tracked (its caller left while it was being served)', async () => {
    const answers = new OpenAnswers();
    answers.track(await abandonedResponse());
    const outcome = await Promise.race([
      answers.settled().then(() => 'settled'),
      new Promise(resolve => setTimeout(() => resolve('still waiting'), 1_000))
    ]);
    expect(outcome).toBe('settled');
  });
});
