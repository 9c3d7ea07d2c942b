// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by function,
// and self and inclusive time by area (a package, a Node module, the gateway's own files).
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ROOT } from './gateway.mjs';

const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/**
 * Native functions that make a write(2)/writev(2) system call. V8 samples by the clock, so their
 * self time includes time the thread spent off the CPU inside the call: on a loaded machine, the
 * reader it wakes (the client, dockerd) often preempts it there.
 */
const WRITE_NATIVES = new Set([
  'writeUtf8String',
  'writeLatin1String',
  'writeString',
  'writeBuffer',
  'writev',
  'writeBuffers'
]);

/** Which area a call frame belongs to: `pino`, `@modelcontextprotocol/server`, `node:_http_server`, `src/...`. */
export function areaOf(frame) {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const url = frame.url;
  if (!url) return '(native)';
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' && parts.length > 2 ? `internal/${parts[1]}` : parts.join('/')}`;
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const root = `file://${ROOT}/`;
  if (url.startsWith(root))
    return url
      .slice(root.length)
      .replace(/^dist\//, 'src/')
      .replace(/\.js$/, '.ts');
  return url;
}

/** Who owns an area's self time, for the split of the busy time between the gateway and what it runs on. */
const OWNERS = [
  [area => area.startsWith('src/'), 'the gateway’s own code (src/)'],
  [
    area => area.startsWith('@modelcontextprotocol/') || area === '@hono/node-server' || area === 'hono',
    'the MCP SDK (its protocol layers, HTTP transports and Node adapter)'
  ],
  [area => area === 'zod', 'zod (the MCP SDK’s message validation)'],
  [
    area =>
      [
        'express',
        'router',
        'body-parser',
        'raw-body',
        'finalhandler',
        'on-finished',
        'type-is',
        'content-type',
        'qs',
        'iconv-lite',
        'send',
        'statuses',
        'http-errors',
        'depd'
      ].includes(area),
    'Express and its middleware'
  ],
  [area => ['pino', 'sonic-boom', 'pino-std-serializers', 'thread-stream'].includes(area), 'pino (logging)'],
  [area => ['docker-modem', 'readable-stream', 'dockerode'].includes(area), 'dockerode / docker-modem'],
  [area => area.startsWith('node:'), 'Node.js (its JavaScript: HTTP, streams, events, timers)'],
  [area => area === '(garbage collector)', 'garbage collector'],
  [
    area => area === '(native)' || area === '(program)',
    'other native code (JSON, V8 builtins, other system calls)'
  ]
];

function ownerOf(area) {
  return OWNERS.find(([test]) => test(area))?.[1] ?? 'other packages';
}

const sourceMaps = new Map();

/**
 * `file:line` in src/ for a frame in the gateway's build (through dist/'s source maps), so the
 * report points at the TypeScript the developer edits; undefined for other frames.
 */
function sourceLocation(frame) {
  const root = `file://${ROOT}/dist/`;
  if (!frame.url.startsWith(root)) return undefined;
  const file = fileURLToPath(frame.url);
  if (!sourceMaps.has(file)) {
    try {
      sourceMaps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      sourceMaps.set(file, undefined);
    }
  }
  const entry = sourceMaps.get(file)?.findEntry(frame.lineNumber, frame.columnNumber);
  const area = areaOf(frame);
  return entry?.originalLine === undefined
    ? `${area} (${shortUrl(frame.url)}:${frame.lineNumber + 1})`
    : `${area}:${entry.originalLine + 1}`;
}

function shortUrl(url) {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length);
  const root = `file://${ROOT}/`;
  return url.startsWith(root) ? url.slice(root.length) : url;
}

/** Now on the clock V8 stamps profiles with (CLOCK_MONOTONIC, µs), which any process can read. */
export function monotonicUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Summarizes `file`, counting only samples taken within `span` ({ fromUs, toUs } from
 * {@link monotonicUs}): the calls, not the gateway's start and stop. `calls` (the calls made in the
 * span) turns times into µs per call. `top` limits the function list.
 */
export function summarizeProfile(file, calls, span, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map(node => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByNode = new Map();
  let total = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's delta is the time since the one before: charge it to the sample it ends.
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < span.fromUs || at > span.toUs) continue;
    selfByNode.set(profile.samples[i], (selfByNode.get(profile.samples[i]) ?? 0) + delta);
    total += delta;
  }

  const functions = new Map();
  const gatewayInclusive = new Map();
  const areasSelf = new Map();
  const owners = new Map();
  const areasInclusive = new Map();
  let writes = 0;
  const add = (map, key, value) => map.set(key, (map.get(key) ?? 0) + value);
  for (const [id, self] of selfByNode) {
    const frame = nodes.get(id).callFrame;
    const area = areaOf(frame);
    const name = frame.functionName || '(anonymous)';
    const key = frame.url
      ? `${name} ${sourceLocation(frame) ?? `${shortUrl(frame.url)}:${frame.lineNumber + 1}`}`
      : name;
    add(functions, key, self);
    add(areasSelf, area, self);
    const write = !frame.url && WRITE_NATIVES.has(frame.functionName);
    if (area !== '(idle)')
      add(owners, write ? 'write system calls (with time off the CPU in them)' : ownerOf(area), self);
    if (!frame.url && WRITE_NATIVES.has(frame.functionName)) writes += self;
    const seen = new Set();
    for (let frameId = id; frameId !== undefined; frameId = parent.get(frameId)) {
      const atFrame = nodes.get(frameId).callFrame;
      const atArea = areaOf(atFrame);
      if (atArea.startsWith('src/')) {
        const gatewayKey = `${atFrame.functionName || '(anonymous)'} ${sourceLocation(atFrame)}`;
        if (!seen.has(gatewayKey)) {
          seen.add(gatewayKey);
          add(gatewayInclusive, gatewayKey, self);
        }
      }
      if (atArea === '(root)' || seen.has(atArea)) continue;
      seen.add(atArea);
      add(areasInclusive, atArea, self);
    }
  }
  const idle = areasSelf.get('(idle)') ?? 0;
  const busy = total - idle;
  const rows = (map, limit) =>
    [...map.entries()]
      .filter(([key]) => key !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, us]) => ({
        name: key,
        ms: Math.round(us / 100) / 10,
        percentOfBusy: Math.round((us / busy) * 1000) / 10,
        usPerCall: Math.round((us / calls) * 10) / 10
      }));
  return {
    recordedMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    busyUsPerCall: Math.round(busy / calls),
    writeSyscallsUsPerCall: Math.round(writes / calls),
    calls,
    topFunctionsBySelfTime: rows(functions, top),
    areasBySelfTime: rows(areasSelf, 20),
    areasByInclusiveTime: rows(areasInclusive, 20),
    gatewayFunctionsByInclusiveTime: rows(gatewayInclusive, 20),
    ownersBySelfTime: rows(owners, 20)
  };
}
