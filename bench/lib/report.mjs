// Turns the results into the target checks and the markdown report. Targets are checked here and
// only here: they are goals for the code, reported as met or not met, never asserted in tests.
import { renderToolSearch, toolSearchTargets } from '../sections/tool-search.mjs';
import { listCurveTargets, renderCurves } from './report-curves.mjs';

/** The issue's targets, for a 2-core machine. */
export const TARGETS = {
  addedP50Ms: 0.3,
  throughputRatio: 0.7,
  callsPerSecAt16: 1500,
  coldRatio: 1.1,
  listP50Ms: 2,
  idleRssBytes: 80 * 1024 * 1024,
  bytesPerSession: 50 * 1024
};

const mb = bytes => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/** An RSS with the part of it that is the process's own pages (not files mapped), when measured. */
const withOwn = (rss, own) => (own === undefined ? mb(rss) : `${mb(rss)} (own ${mb(own)})`);
const kb = bytes => `${(bytes / 1024).toFixed(1)} KB`;
const ms = value => `${value.toFixed(2)} ms`;
const signed = value => `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms`;
const verdict = ok => (ok === undefined ? 'n/a' : ok ? 'met' : '**not met**');

/** One row per target: what it asks, what was measured, met or not. */
export function checkTargets(results) {
  const rows = [];
  const { warm, concurrency, cold, catalog, memory } = results.sections;
  if (warm?.comparison) {
    // The SDK client (what real clients run), then the minimal one: the gateway's own share.
    const c = warm.comparison;
    const clients = [
      {
        name: 'SDK client',
        versus: Era => [
          [c[`sdk${Era}VsDockerRun`], '`docker run -i`'],
          [c[`sdk${Era}VsAttach`], 'attach']
        ],
        bare: c.floorSdkVsDockerRun,
        stack: Era => c[`sdkStack${Era}VsDockerRun`]
      },
      {
        name: 'minimal HTTP client',
        versus: Era => [[c[`raw${Era}VsDockerRun`], '`docker run -i`']],
        bare: c.floorRawVsDockerRun,
        stack: Era => c[`sdkStackRaw${Era}VsDockerRun`]
      }
    ];
    const measures = [
      {
        target: client => `Added p50 per warm call ≤ ${TARGETS.addedP50Ms} ms (${client})`,
        pick: comparison => comparison.addedP50Ms,
        format: value => signed(value),
        against: ' vs ',
        met: value => value <= TARGETS.addedP50Ms
      },
      {
        target: client => `Gateway calls/s ≥ ${TARGETS.throughputRatio} × direct (${client})`,
        pick: comparison => comparison.ratio,
        format: value => `${value} ×`,
        against: ' ',
        met: value => value >= TARGETS.throughputRatio
      }
    ];
    for (const client of clients) {
      for (const [Era, label] of [
        ['Legacy', '2025-11-25 session'],
        ['Modern', '2026-07-28']
      ]) {
        const versus = client.versus(Era).filter(([comparison]) => comparison);
        if (versus.length === 0) continue;
        const stack = client.stack(Era);
        for (const { target, pick, format, against, met } of measures) {
          const floors = [
            client.bare && `a bare Node relay: ${format(pick(client.bare))}`,
            stack && `the MCP SDK alone: ${format(pick(stack))}`
          ]
            .filter(Boolean)
            .join('; ');
          rows.push({
            target: target(`${client.name}, ${label}`),
            measured: `${versus.map(([comparison, name]) => `${format(pick(comparison))}${against}${name}`).join('; ')} (floors: ${floors})`,
            met: met(pick(versus[0][0]))
          });
        }
      }
    }
  }
  if (concurrency?.levels) {
    const at16 = concurrency.levels.find(level => level.sessions === 16);
    const at64 = concurrency.levels.find(level => level.sessions === 64);
    const floor16 = concurrency.floorAt16;
    rows.push({
      target: `≥ ${TARGETS.callsPerSecAt16.toLocaleString('en')} calls/s total with 16 sessions`,
      measured: `${at16.callsPerSec.toLocaleString('en')} calls/s${floor16 ? ` (floor: ${floor16.callsPerSec.toLocaleString('en')})` : ''}`,
      met: at16.callsPerSec >= TARGETS.callsPerSecAt16
    });
    rows.push({
      target: 'Zero errors with 64 sessions',
      measured: `${at64.errors} errors in ${at64.calls.toLocaleString('en')} calls`,
      met: at64.errors === 0
    });
  }
  if (cold?.medianMs) {
    rows.push({
      target: `Cold start ≤ ${TARGETS.coldRatio} × \`docker run -i\` floor`,
      measured: `${cold.medianMs.gateway} ms vs ${cold.medianMs.dockerRun} ms = ${cold.ratioToDockerRun} ×`,
      met: cold.ratioToDockerRun <= TARGETS.coldRatio
    });
  }
  if (catalog?.lists) {
    for (const [name, label] of [
      ['sdk_legacy', 'SDK client'],
      ['raw_legacy', 'minimal HTTP client'],
      ['received_legacy', 'minimal HTTP client, not parsing the answer'],
      ['received_modern', 'minimal HTTP client, 2026-07-28 (hot path), not parsing the answer']
    ]) {
      if (!catalog.lists[name]) continue;
      const floors =
        name === 'received_legacy' && catalog.lists.floor
          ? ` (floors: a bare Node server ${ms(catalog.lists.floor.p50)}, serialized once ${ms(catalog.lists.floorCached.p50)}${catalog.lists.floorSdk ? `; the MCP SDK alone ${ms(catalog.lists.floorSdk.p50)}` : ''})`
          : '';
      rows.push({
        target: `tools/list p50 ≤ ${TARGETS.listP50Ms} ms for ${catalog.tools} tools (${label})`,
        measured: `${ms(catalog.lists[name].p50)}${floors}`,
        met: catalog.lists[name].p50 <= TARGETS.listP50Ms
      });
    }
    rows.push({
      target: 'tools/list starts zero servers',
      measured: `${catalog.proof.serversStarted} started, ${catalog.proof.serverProcessesRunning} running`,
      met: catalog.proof.serversStarted === 0 && catalog.proof.serverProcessesRunning === 0
    });
  }
  rows.push(...listCurveTargets(results.sections.listcurve));
  if (memory?.idle) {
    const memoryFloors = memory.floors
      ? ` (floors: Node.js alone ${mb(memory.floors.bareNodeRss)}; Node.js with the gateway’s libraries loaded, nothing else ${mb(memory.floors.librariesRss)})`
      : '';
    const privatePart =
      memory.idlePlainPrivate === undefined
        ? ''
        : `; its own pages ${mb(memory.idlePlainPrivate)}, the rest files mapped, mostly the Node.js binary (floors’ own: ${mb(memory.floors.bareNodePrivate)}, ${mb(memory.floors.librariesPrivate)})`;
    rows.push({
      target: `Idle RSS ≤ ${mb(TARGETS.idleRssBytes)}`,
      measured: `${mb(memory.idlePlainRss ?? memory.idle.rss)}${memoryFloors}${privatePart}`,
      met: (memory.idlePlainRss ?? memory.idle.rss) <= TARGETS.idleRssBytes
    });
    rows.push({
      target: `≤ ${kb(TARGETS.bytesPerSession)} per idle session`,
      measured: `${kb(memory.sessions.bytesPerSession.rssAfterGc)} RSS (${kb(memory.sessions.bytesPerSession.heapUsedAfterGc)} heap)`,
      met: memory.sessions.bytesPerSession.rssAfterGc <= TARGETS.bytesPerSession
    });
    rows.push({
      target: `No leak over ${memory.leak.calls.toLocaleString('en')} calls (bench bound: heap ≤ ${memory.leak.boundBytesPerCall} B/call)`,
      measured: `${memory.leak.heapGrowthBytesPerCall} B/call heap, RSS ${signedMb(memory.leak.rssGrowthBytes)}`,
      met: memory.leak.leakFree
    });
  }
  const { abuse } = results.sections;
  if (abuse?.idle) {
    rows.push({
      target: `RSS after ${abuse.requests.toLocaleString('en')} hostile requests ≤ ${abuse.bound} × idle`,
      measured: `${mb(abuse.after.rss)} after, ${mb(abuse.idle.rss)} idle = ${abuse.ratio} × (after a forced GC: ${mb(abuse.after.rssAfterGc)}; heap ${mb(abuse.after.heapUsedAfterGc)})`,
      met: abuse.ratio <= abuse.bound
    });
  }
  rows.push(...toolSearchTargets(results.sections.search));
  return rows;
}

const signedMb = bytes => `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`;

/** Section 7's paths, by the keys sections/remote.mjs measures them under. */
const REMOTE_NAMES = {
  directSdk_legacy: 'SDK client → server (2025)',
  gatewaySdk_legacy: 'SDK client → gateway → server (2025)',
  directSdk_modern: 'SDK client → server (2026)',
  gatewaySdk_modern: 'SDK client → gateway → server (2026)',
  directRaw_modern: 'minimal client → server (2026)',
  gatewayRaw_modern: 'minimal client → gateway → server (2026)'
};

const WARM_NAMES = {
  dockerRun: 'direct: SDK client over `docker run -i` (docker CLI)',
  attach: 'direct: SDK client over dockerode attach (the gateway’s runtime)',
  gatewaySdk_legacy: 'gateway: SDK client, 2025-11-25 session',
  gatewaySdk_modern: 'gateway: SDK client, 2026-07-28',
  gatewayRaw_legacy: 'gateway: minimal HTTP client, 2025-11-25 session',
  gatewayRaw_modern: 'gateway: minimal HTTP client, 2026-07-28',
  gatewayRaw_modern_profile: 'gateway: minimal HTTP client, 2026-07-28, through a profile (`/mcp/bench`)',
  floorRelaySdk: 'floor: minimal Node HTTP relay to the container, SDK client',
  floorRelay: 'floor: minimal Node HTTP relay to the container, minimal HTTP client',
  floorSdkStackSdk_legacy:
    'floor: the MCP SDK alone (its HTTP server, Server and Client), SDK client, 2025-11-25 session',
  floorSdkStackSdk_modern: 'floor: the MCP SDK alone, SDK client, 2026-07-28',
  floorSdkStackRaw_legacy: 'floor: the MCP SDK alone, minimal HTTP client, 2025-11-25 session',
  floorSdkStackRaw_modern: 'floor: the MCP SDK alone, minimal HTTP client, 2026-07-28'
};

/** Rows of [label, cpuUsPerCall] as a table with a total. */
function cpuTable(rows) {
  const keys = ['gateway', 'server', 'engine', 'bench', 'other'];
  return table(
    ['', 'gateway (or relay)', 'server', 'engine', 'bench', 'other', 'ours in all'],
    rows.map(([label, cpu]) => [
      label,
      ...keys.map(key => cpu[key]),
      cpu.gateway + cpu.server + cpu.engine + cpu.bench
    ])
  );
}

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
    .concat(rows.map(row => `| ${row.join(' | ')} |`))
    .join('\n');
}

/** The targets table alone (also what the README shows). */
export function targetsTable(targets) {
  return table(
    ['Target (2-core machine)', 'Measured', ''],
    targets.map(row => [row.target, row.measured, verdict(row.met)])
  );
}

export function renderMarkdown(results) {
  const { machine, sections, targets } = results;
  const out = [];
  out.push(`# mcp-gateway benchmark${results.quick ? ' (quick run: reduced counts)' : ''}`, '');
  out.push(
    table(
      ['', ''],
      [
        ['date', machine.date],
        ['commit', `${machine.commit}${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}`],
        ['cpu', `${machine.cpu}, ${machine.cores} cores`],
        ['memory', `${machine.memoryGiB} GiB`],
        ['os', machine.os],
        ['node', machine.node],
        ['docker engine', machine.docker],
        ['MCP SDK', `client ${machine.sdk.client}, server ${machine.sdk.server}, node ${machine.sdk.node}`],
        [
          'machine load',
          `other work on the machine: ${machine.busyBeforePercent}% of all cores busy just before the run, ${results.busyAfterPercent}% just after it (2 s samples); load average before ${machine.loadAverageBefore.join(', ')}. Figures from a busy machine are noisy; the “other” column of the CPU tables shows how much ran beside each measurement`
        ],
        ['duration', `${results.durationSeconds} s`],
        ...(results.raisedLimits
          ? [
              [
                'gateway settings',
                'request limits raised for the bench (`gateway.limits`: requests per minute, sessions per client, sessions): the limiter still runs, but does not refuse the load'
              ]
            ]
          : [])
      ]
    ),
    ''
  );
  out.push('## Targets', '', targetsTable(targets), '');

  const warm = sections.warm;
  if (warm?.runs) {
    const base = warm.runs.dockerRun;
    const names = WARM_NAMES;
    out.push(
      `## 1. Warm calls`,
      '',
      `${warm.runs.dockerRun.calls.toLocaleString('en')} sequential \`tools/call\`s of \`echo\` on the fixture image on each path, after a warm-up, in five rounds in which every path takes its turn (so that drift in the machine falls on all alike); the server speaks the ${warm.era === 'modern' ? '2026-07-28' : '2025'} era to its client. “Added” is the p50 minus the \`docker run -i\` p50.`,
      '',
      table(
        ['path', 'p50', 'p90', 'p99', 'calls/s', 'added p50', '× calls/s', 'gateway (or relay) CPU/call'],
        Object.entries(names)
          .filter(([key]) => warm.runs[key])
          .map(([key, label]) => {
            const run = warm.runs[key];
            return [
              label,
              ms(run.p50),
              ms(run.p90),
              ms(run.p99),
              run.callsPerSec.toLocaleString('en'),
              key === 'dockerRun' || key === 'attach' ? '' : signed(run.p50 - base.p50),
              key === 'dockerRun' || key === 'attach' ? '' : (run.callsPerSec / base.callsPerSec).toFixed(2),
              run.gatewayCpuUsPerCall ? `${run.gatewayCpuUsPerCall} µs` : ''
            ];
          })
      ),
      ''
    );
  }
  if (warm?.runs) {
    out.push(
      'CPU per call, by process (µs; from /proc, all threads). “engine” is dockerd, containerd and the shim relaying the container’s stdio (and the docker CLI for `docker run -i`); “bench” is the client; “other” is the rest of the machine (other people’s work: noise).',
      '',
      cpuTable(
        Object.entries(WARM_NAMES)
          .filter(([key]) => warm.runs[key])
          .map(([key, label]) => [label, warm.runs[key].cpuUsPerCall])
      ),
      ''
    );
  }
  const concurrency = sections.concurrency;
  if (concurrency?.levels) {
    out.push(
      '## 2. Concurrency',
      '',
      `Each session calls \`echo\` in a loop for ${results.counts.concurrencySeconds} s; ${concurrency.client}.`,
      '',
      table(
        ['sessions', 'calls/s', 'floor calls/s (bare relay)', 'p50', 'p99', 'errors', 'gateway CPU/call'],
        concurrency.levels.map(level => [
          level.sessions,
          level.callsPerSec.toLocaleString('en'),
          concurrency.floorLevels
            ?.find(floor => floor.sessions === level.sessions)
            ?.callsPerSec.toLocaleString('en') ?? '',
          ms(level.p50),
          ms(level.p99),
          `${level.errors}${level.firstError ? ` (${level.firstError})` : ''}`,
          `${level.gatewayCpuUsPerCall} µs`
        ])
      ),
      '',
      'CPU per call, by process (µs), as above:',
      '',
      cpuTable([
        ...concurrency.levels.map(level => [`${level.sessions} sessions`, level.cpuUsPerCall]),
        ...(concurrency.floorAt16
          ? [['floor: 16 clients, minimal Node HTTP relay', concurrency.floorAt16.cpuUsPerCall]]
          : [])
      ]),
      '',
      ...(concurrency.floorAt16
        ? [
            `Floor: 16 clients through a minimal Node HTTP relay to the same container: ${concurrency.floorAt16.callsPerSec.toLocaleString('en')} calls/s, p99 ${ms(concurrency.floorAt16.p99)}, ${concurrency.floorAt16.errors} errors.`,
            '',
            ...(concurrency.floorLevels
              ? ['![calls/s against concurrent sessions](calls-vs-sessions.svg)', '']
              : [])
          ]
        : [])
    );
  }
  const cold = sections.cold;
  if (cold?.medianMs) {
    out.push(
      '## 3. Cold start',
      '',
      `Median of ${cold.samples.gateway.length} rounds; each round: a call to the stopped server through the gateway, then \`docker run -i\` of the same image until \`initialize\` completes, then the gateway’s own runtime (dockerode create, attach, start) until \`initialize\` completes.`,
      '',
      table(
        ['', 'median', 'samples (ms)'],
        [
          [
            'gateway: call to a stopped server until its result',
            `${cold.medianMs.gateway} ms`,
            cold.samples.gateway.join(', ')
          ],
          [
            'floor: `docker run -i` until `initialize` completes',
            `${cold.medianMs.dockerRun} ms`,
            cold.samples.dockerRun.join(', ')
          ],
          [
            'reference: dockerode create/attach/start until `initialize`',
            `${cold.medianMs.attach} ms`,
            cold.samples.attach.join(', ')
          ]
        ]
      ),
      '',
      `Ratio to the \`docker run -i\` floor: ${cold.ratioToDockerRun} ×; to the dockerode reference: ${cold.ratioToAttach} ×.`,
      ''
    );
  }
  const catalog = sections.catalog;
  if (catalog?.lists) {
    const labels = {
      sdk_legacy: 'SDK client, 2025-11-25 session (cache bypassed)',
      sdk_modern: 'SDK client, 2026-07-28 (cache bypassed)',
      raw_legacy: 'minimal HTTP client, 2025-11-25 session',
      raw_modern: 'minimal HTTP client, 2026-07-28',
      received_legacy: 'minimal HTTP client, 2025-11-25 session, answer received but not parsed',
      received_modern:
        'minimal HTTP client, 2026-07-28 (hot path: pages kept serialized), answer received but not parsed',
      floor: 'floor: a bare node:http server serializing the same tools per request (received, not parsed)',
      floorCached: 'floor: a bare node:http server sending them serialized once (received, not parsed)',
      floorSdk:
        'floor: the MCP SDK alone (its HTTP server and Server) answering with the same tools, 2025-11-25 session (received, not parsed)'
    };
    out.push(
      '## 4. Catalog',
      '',
      `${catalog.servers} local-process servers × ${catalog.toolsEach} tools = ${catalog.tools} tools. A first gateway discovered them (${catalog.discovery.serversStarted} server starts, ${catalog.discovery.seconds} s); a second one on the same state directory answered \`tools/list\` (${(catalog.responseBytes / 1024).toFixed(0)} KB of JSON) from the stored catalog: **${catalog.proof.serversStarted} servers started** (counted by the servers themselves, which log every start to a file), ${catalog.proof.serverProcessesRunning} server processes running afterwards, server states afterwards: ${catalog.proof.statesAfter.join(', ')}.`,
      '',
      table(
        ['client', 'p50', 'p90', 'p99', 'lists/s'],
        Object.entries(labels)
          .filter(([key]) => catalog.lists[key])
          .map(([key, label]) => {
            const run = catalog.lists[key];
            return [label, ms(run.p50), ms(run.p90), ms(run.p99), run.callsPerSec.toLocaleString('en')];
          })
      ),
      ''
    );
  }
  out.push(...renderCurves(sections, table));
  const memory = sections.memory;
  if (memory?.idle) {
    const row = (label, reading) => [
      label,
      mb(reading.rss),
      mb(reading.rssAfterGc),
      mb(reading.heapUsedAfterGc)
    ];
    out.push(
      '## 5. Memory',
      '',
      'RSS from `/proc/<pid>/status` of the gateway process; “after GC” is after a forced full collection (through the inspector, which this gateway instance runs with). The gateway makes one memory-reducing collection itself once its startup discovery has settled, and another after a burst of requests once none has come for 1 s and RSS grew by 16 MB or more; the floors make the same one after loading. “own” is the part of RSS that is the process’s own pages (`RssAnon` + `RssShmem`); the rest is pages of files it maps, mostly the Node.js binary’s code and data, shared and clean.',
      '',
      table(
        ['gateway state', 'RSS', 'RSS after GC', 'heap used after GC'],
        [
          ...(memory.floors
            ? [
                [
                  'floor: Node.js alone, idle',
                  withOwn(memory.floors.bareNodeRss, memory.floors.bareNodePrivate),
                  '',
                  ''
                ],
                [
                  'floor: Node.js with the gateway’s libraries loaded, idle',
                  withOwn(memory.floors.librariesRss, memory.floors.librariesPrivate),
                  '',
                  ''
                ]
              ]
            : []),
          ...(memory.idlePlainRss
            ? [
                [
                  'idle (a gateway without the inspector)',
                  withOwn(memory.idlePlainRss, memory.idlePlainPrivate),
                  '',
                  ''
                ]
              ]
            : []),
          row('idle', memory.idle),
          row(`${memory.sessions.open.toLocaleString('en')} open sessions`, memory.sessions.reading),
          row('all sessions closed', memory.sessions.afterClosingAll),
          row(`after ${(memory.leak.calls / 10).toLocaleString('en')} calls`, memory.leak.before),
          row(`after ${memory.leak.calls.toLocaleString('en')} calls`, memory.leak.after)
        ]
      ),
      '',
      ...(memory.sessions.curve
        ? [
            `RSS against open sessions (nothing forced): ${memory.sessions.curve.map(point => `${point.sessions.toLocaleString('en')}: ${mb(point.rss)}`).join(', ')}.`,
            '',
            '![RSS against open sessions](memory-vs-sessions.svg)',
            ''
          ]
        : []),
      `Per open session: ${kb(memory.sessions.bytesPerSession.rss)} RSS, ${kb(memory.sessions.bytesPerSession.rssAfterGc)} RSS after GC, ${kb(memory.sessions.bytesPerSession.heapUsedAfterGc)} heap. Leak check: ${memory.leak.errors} errors, ${memory.leak.callsPerSec.toLocaleString('en')} calls/s (8 sessions and 8 2026-era clients), heap ${signedMb(memory.leak.heapGrowthBytes)} over the last ${((memory.leak.calls * 9) / 10).toLocaleString('en')} calls (${memory.leak.heapGrowthBytesPerCall} B/call; bound ${memory.leak.boundBytesPerCall} B/call).`,
      ''
    );
  }
  out.push(
    ...abuseSection(sections.abuse),
    ...atRestSection(sections.rest),
    ...idleStopSection(sections.idlestop)
  );
  const tracking = sections.tracking;
  if (tracking) {
    out.push('## 6. Tracking', '');
    if (!tracking.measured) out.push(tracking.note ?? tracking.error ?? 'not measured', '');
    else {
      const run = mode => tracking.runs[mode];
      out.push(
        table(
          [
            'tracking',
            'sequential p50',
            'sequential calls/s',
            'gateway CPU/call',
            '16 sessions calls/s',
            'gateway CPU/call at 16',
            'session open+close p50'
          ],
          ['off', 'on'].map(mode => [
            mode,
            ms(run(mode).sequential.p50),
            run(mode).sequential.callsPerSec.toLocaleString('en'),
            `${run(mode).sequential.gatewayCpuUsPerCall} µs`,
            run(mode).sixteenSessions.callsPerSec.toLocaleString('en'),
            `${run(mode).sixteenSessions.gatewayCpuUsPerCall} µs`,
            ms(run(mode).sessionOpenClose.p50)
          ])
        ),
        '',
        `Cost of tracking: ${tracking.cost.cpuUsPerCall} µs gateway CPU per sequential call (${tracking.cost.cpuUsPerCallAt16} µs at 16 sessions), ${signed(tracking.cost.p50Ms)} p50, ${tracking.cost.callsPerSecAt16} calls/s at 16 sessions, ${signed(tracking.cost.sessionOpenCloseP50Ms)} per session open+close. These differences are between two gateway processes, and from run to run they have ranged over tens of µs either way: process to process noise.`,
        '',
        ...(tracking.store
          ? [
              `The history writes themselves, measured apart (the gateway's own ActivityLog on a fresh state directory, ${tracking.store.records.toLocaleString('en')} finished calls with their session heartbeats, committed in batches as its timer does): **${tracking.store.cpuUsPerRecord} µs of CPU per call**.`,
              ''
            ]
          : [])
      );
    }
  }
  const remote = sections.remote;
  if (remote?.runs) {
    const first = Object.values(remote.runs)[0];
    out.push(
      '## 7. A remote server',
      '',
      `${first.calls.toLocaleString('en')} sequential \`tools/call\`s of \`echo\` on each path to a Streamable HTTP server on 127.0.0.1 (\`servers/remote-echo.mjs\`, the SDK's own transports), straight to it and through the gateway with it as a \`url:\` server, in interleaved rounds. “Added” is the gateway path's p50 minus the p50 of the same client straight to the server.`,
      '',
      table(
        ['path', 'p50', 'p90', 'p99', 'calls/s', 'added p50'],
        Object.entries(REMOTE_NAMES)
          .filter(([key]) => remote.runs[key])
          .map(([key, label]) => {
            const run = remote.runs[key];
            const added = remote.addedP50Ms[key];
            return [
              label,
              ms(run.p50),
              ms(run.p90),
              ms(run.p99),
              run.callsPerSec.toLocaleString('en'),
              added === undefined ? '' : signed(added)
            ];
          })
      ),
      ''
    );
  }
  const profile = sections.profile;
  if (profile?.sdk) {
    out.push('## Profile of the hot path', '');
    for (const [key, label] of [
      ['sdk', 'SDK client, 2025-11-25 session'],
      ['raw', 'minimal HTTP client, 2025-11-25 session'],
      ['modern', 'minimal HTTP client, 2026-07-28 (the hot path)']
    ]) {
      const summary = profile[key];
      if (!summary) continue; // a run from before the 2026-era profile
      out.push(
        `### ${label}`,
        '',
        `\`node --cpu-prof --cpu-prof-interval ${profile.intervalUs}\` on the gateway during ${summary.calls.toLocaleString('en')} sequential warm calls (after a warm-up; only samples inside the calls’ time window count). The main thread was busy ${summary.busyUsPerCall} µs per call, of which ${summary.writeSyscallsUsPerCall} µs inside write system calls — the profiler samples by the clock, and a write that wakes the reader (dockerd, the client) is often where the thread is preempted: ${summary.contextSwitchesPerCall.involuntary} involuntary and ${summary.contextSwitchesPerCall.voluntary} voluntary context switches per call. CPU actually used by the whole process (all threads, /proc): ${summary.cpuUsPerCall} µs per call, with the profiler running.`,
        '',
        ...(summary.ownersBySelfTime
          ? [
              table(
                ['whose code (self time)', 'ms', '% of busy', 'µs/call'],
                summary.ownersBySelfTime.map(row => [row.name, row.ms, row.percentOfBusy, row.usPerCall])
              ),
              ''
            ]
          : []),
        table(
          ['gateway function (inclusive: it and what it calls)', 'ms', '% of busy', 'µs/call'],
          summary.gatewayFunctionsByInclusiveTime
            .slice(0, 12)
            .map(row => [`\`${row.name}\``, row.ms, row.percentOfBusy, row.usPerCall])
        ),
        '',
        table(
          ['area (inclusive: time with it anywhere on the stack)', 'ms', '% of busy', 'µs/call'],
          summary.areasByInclusiveTime
            .slice(0, 14)
            .map(row => [row.name, row.ms, row.percentOfBusy, row.usPerCall])
        ),
        '',
        table(
          ['function (self time)', 'ms', '% of busy', 'µs/call'],
          summary.topFunctionsBySelfTime
            .slice(0, 20)
            .map(row => [`\`${row.name}\``, row.ms, row.percentOfBusy, row.usPerCall])
        ),
        ''
      );
    }
  }
  out.push(...renderToolSearch(sections.search, table));
  const failed = Object.entries(sections).filter(([, value]) => value?.error);
  if (failed.length > 0) {
    out.push('## Sections that failed', '');
    for (const [name, value] of failed) out.push(`- ${name}: ${value.error}`);
    out.push('');
  }
  out.push(
    `Cleanup: ${results.cleanup.containersLeft} gateway containers and ${results.cleanup.benchContainersLeft} baseline containers were left to sweep.`,
    ''
  );
  return out.join('\n');
}

/** The markdown of the hostile run (sections/abuse.mjs). */
function abuseSection(abuse) {
  if (!abuse?.idle) return abuse?.error ? ['## Memory under abuse', '', `failed: ${abuse.error}`, ''] : [];
  const kinds = abuse.kinds.map(kind => {
    const seen = Object.entries(abuse.statuses[kind.name] ?? {})
      .map(([status, count]) => `${count} × ${status === '0' ? 'abandoned' : status}`)
      .join(', ');
    return [kind.name, `${Math.round(kind.share * 100)}%`, seen];
  });
  const row = (label, reading) => [
    label,
    mb(reading.rss),
    mb(reading.rssAfterGc),
    mb(reading.heapUsedAfterGc)
  ];
  return [
    '## Memory under abuse',
    '',
    `${abuse.requests.toLocaleString('en')} hostile POSTs to \`/mcp\`, 50 at a time, in ${abuse.seconds} s; the gateway answered /healthz afterwards: ${abuse.alive ? 'yes' : '**no**'}.`,
    '',
    table(['kind', 'share', 'answers'], kinds),
    '',
    table(
      ['gateway state', 'RSS (2 s after, nothing forced)', 'RSS after a forced GC', 'heap used after GC'],
      [row('idle', abuse.idle), row('after the run', abuse.after)]
    ),
    ''
  ];
}

/** The markdown of the at-rest section (sections/at-rest.mjs): each mode, each library. */
function atRestSection(rest) {
  if (!rest?.modes) return rest?.error ? ['## At rest', '', `failed: ${rest.error}`, ''] : [];
  const modeRss = (mode, docker) => {
    const found = rest.modes.find(entry => entry.mode === mode && entry.docker === docker);
    return found?.rss ? mb(found.rss) : `failed: ${found?.error ?? 'not run'}`;
  };
  const modes = [...new Set(rest.modes.map(entry => entry.mode))];
  const alone = rest.libraries[0].rss;
  return [
    '## At rest',
    '',
    'Idle RSS of a gateway per `gateway.auth.mode`, with one local-process server or one Docker server (startup discovery done, 2 s later, nothing forced from outside: the gateway itself makes one memory-reducing collection once discovery has settled). Packages a configuration does not use are not loaded: dockerode without a Docker server, undici without a remote server, the legacy SSE SDK until the first `GET /sse`, oidc-provider outside `oauth`, jose outside `oidc`.',
    '',
    table(
      ['auth mode', 'a local server', 'a Docker server'],
      modes.map(mode => [mode, modeRss(mode, false), modeRss(mode, true)])
    ),
    '',
    'Each library alone: the idle RSS of `node -e "import(lib)"` after one memory-reducing collection (as the gateway makes once its startup discovery has settled), and what it adds to Node.js alone (libraries share dependencies, so the additions overlap and do not sum). `dockerode` is its full import; the gateway defers its BuildKit (gRPC, protobuf) and SSH modules until called.',
    '',
    table(
      ['', 'RSS', 'over Node.js alone'],
      rest.libraries.map((lib, i) => [
        i === 0 ? lib.name : `\`${lib.name}\``,
        mb(lib.rss),
        i === 0 ? '' : `+${mb(lib.rss - alone)}`
      ])
    ),
    ''
  ];
}

/** The markdown of sections/idle-stop.mjs. */
function idleStopSection(stop) {
  if (!stop?.handlesSigterm)
    return stop?.error ? ['## Idle to stopped', '', `failed: ${stop.error}`, ''] : [];
  const row = (label, run) => [label, `${run.medianMs} ms`, run.samples.join(', ')];
  return [
    '## Idle to stopped',
    '',
    'From the idle timer firing (the gateway’s “stopping server” line, idle timeout 1 s) to the container gone from the engine; the containers run with an init process that passes SIGTERM on. A server that ignores SIGTERM (and the end of its stdin) is killed after the 3 s stop grace.',
    '',
    table(
      ['server', 'median', 'samples (ms)'],
      [
        row('exits on SIGTERM (the fixture server)', stop.handlesSigterm),
        row('ignores SIGTERM and the end of stdin', stop.ignoresSigterm)
      ]
    ),
    ''
  ];
}
