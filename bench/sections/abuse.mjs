// Memory under abuse: the gateway's RSS idle, then after a run of hostile requests (malformed,
// oversized, deeply nested, slow), as it is and after a forced full collection, with the heap's own
// count beside it. The gateway runs as it is started in production (scripts/start.mjs's settings,
// and the C allocator's settings the Dockerfile and the systemd unit set).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT, startFixtureGateway, sleep } from '../lib/gateway.mjs';
import { openInspector } from '../lib/inspector.mjs';

/** RSS after the run may be at most this many times the idle RSS (issue 16, item 4). */
export const ABUSE_RSS_BOUND = 1.5;

/** The `MALLOC_*` settings the Dockerfile's ENV sets (the systemd unit sets the same, test/deploy checks). */
export const ALLOCATOR_SETTINGS = Object.fromEntries(
  [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/\b(MALLOC_\w+)=(\S+)/g)].map(match => [
    match[1],
    match[2]
  ])
);

const MiB = 1024 * 1024;
const OVERSIZED = Buffer.alloc(5 * MiB, 'x'); // past the 4 MiB body limit
const LARGE = Buffer.from(
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'y'.repeat(3 * MiB) } })
); // within it: parsed, then refused or answered
const DEEP = Buffer.from('['.repeat(100_000) + ']'.repeat(100_000));

/** The kinds of hostile request, by how often each is sent (out of 20). */
export const KINDS = [
  ['malformed', 8, () => ({ body: Buffer.from('{"jsonrpc":"2.0","method":"tools/list","id":') })],
  ['not JSON-RPC', 4, () => ({ body: Buffer.from('[]') })],
  ['deep', 3, () => ({ body: DEEP })],
  ['large, within the limit', 2, () => ({ body: LARGE })],
  ['oversized, declared', 1, () => ({ body: OVERSIZED })],
  ['oversized, chunked', 1, () => ({ body: OVERSIZED, chunked: true })],
  ['slow: half a body, then gone', 1, () => ({ body: LARGE, abortAfter: LARGE.length >> 1 })]
];
const SCHEDULE = KINDS.flatMap(([name, weight, make]) => Array.from({ length: weight }, () => [name, make]));

/** One hostile POST to /mcp; resolves with the status (0: no answer, as for an abandoned request). */
function hostile(url, agent, { body, chunked = false, abortAfter }) {
  return new Promise(resolve => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(chunked ? {} : { 'content-length': body.length })
      }
    });
    request.on('response', response => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
    if (abortAfter !== undefined) {
      request.write(body.subarray(0, abortAfter));
      setTimeout(() => {
        request.destroy();
        resolve(0);
      }, 20);
      return;
    }
    if (chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) request.write(body.subarray(at, at + 64 * 1024));
      request.end();
    } else request.end(body);
  });
}

/** `count` hostile requests, `parallel` at a time; the statuses seen, by kind. */
export async function hostileRun(url, count, parallel, schedule = SCHEDULE) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const [name, make] = schedule[next++ % schedule.length];
      const status = await hostile(url, agent, make());
      const seen = (statuses[name] ??= {});
      seen[status] = (seen[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  agent.destroy();
  return statuses;
}

async function reading(gateway, inspector) {
  await sleep(2_000); // as an operator would look: after the work, nothing forced
  const rss = gateway.rss();
  await inspector.collectGarbage();
  await sleep(500);
  const memory = await inspector.memoryUsage();
  return { rss, rssAfterGc: gateway.rss(), heapUsedAfterGc: memory.heapUsed, external: memory.external };
}

export async function abuse({ dir, images, counts, log }) {
  const gateway = await startFixtureGateway(path.join(dir, 'gateway'), images.fixture, {
    inspect: true,
    env: ALLOCATOR_SETTINGS
  });
  const inspector = await openInspector(gateway.inspectorUrl);
  try {
    const idle = await reading(gateway, inspector);
    log(`  ${counts.hostile} hostile requests, 50 at a time`);
    const began = performance.now();
    const statuses = await hostileRun(gateway.url, counts.hostile, 50);
    const seconds = (performance.now() - began) / 1000;
    const after = await reading(gateway, inspector);
    const alive = await gateway.health().then(
      () => true,
      () => false
    );
    return {
      requests: counts.hostile,
      seconds: Math.round(seconds * 10) / 10,
      kinds: KINDS.map(([name, weight]) => ({ name, share: weight / SCHEDULE.length })),
      statuses,
      idle,
      after,
      ratio: Math.round((after.rss / idle.rss) * 100) / 100,
      bound: ABUSE_RSS_BOUND,
      allocator: ALLOCATOR_SETTINGS,
      alive
    };
  } finally {
    inspector.close();
    await gateway.stop();
  }
}
