// The two curves measured by their own sections (sections/list-curve.mjs, cold-curve.mjs): their
// target rows and their markdown.

/** tools/list of the whole catalog at 10,000 tools, 2026 era, at most this (issue 16, item 2). */
export const LIST_10K_P50_MS = 15;

const ms = value => `${value.toFixed(2)} ms`;

/** The target rows of the tools/list curve: the 10,000-tool point, a whole list and one request. */
export function listCurveTargets(curve) {
  const point = curve?.points?.find(entry => entry.tools === 10_000);
  if (!point) return [];
  return [
    {
      target: `tools/list p50 ≤ ${LIST_10K_P50_MS} ms at 10,000 tools (2026 era, the whole list: ${point.pages} requests following cursors)`,
      measured: `${ms(point.p50Ms.modern)} (floor, the same pages serialized once: ${ms(point.p50Ms.floor)})`,
      met: point.p50Ms.modern <= LIST_10K_P50_MS
    },
    {
      target: `tools/list p50 ≤ ${LIST_10K_P50_MS} ms at 10,000 tools (2026 era, one request: the first page of ${curve.pageSize})`,
      measured: ms(point.p50Ms.firstPage),
      met: point.p50Ms.firstPage <= LIST_10K_P50_MS
    }
  ];
}

/** The markdown of both curves, for whichever of them ran. */
export function renderCurves({ listcurve, coldcurve }, table) {
  const out = [];
  if (listcurve?.points) {
    out.push(
      '## tools/list against catalog size',
      '',
      `${listcurve.servers} local-process servers, their catalog discovered by a first gateway and listed from storage by a second (servers started to list: ${listcurve.points.map(point => point.serversStarted).join(', ')}). The whole list: every page of ${listcurve.pageSize} tools, following cursors; answers received, not parsed (the cursor is read from the answer's tail). Sequential, in interleaved rounds. Chart: [list-vs-catalog.svg](list-vs-catalog.svg).`,
      '',
      table(
        [
          'tools',
          'pages',
          '2026 era (hot path)',
          '2025-11-25 session',
          'floor: bare node:http, pages serialized once',
          '2026, first page only'
        ],
        listcurve.points.map(point => [
          point.tools.toLocaleString('en'),
          String(point.pages),
          ms(point.p50Ms.modern),
          ms(point.p50Ms.legacy),
          ms(point.p50Ms.floor),
          ms(point.p50Ms.firstPage)
        ])
      ),
      '',
      'p50 of each; lists per point: ' + listcurve.points.map(point => point.lists).join(', ') + '.',
      ''
    );
  } else if (listcurve?.error)
    out.push('## tools/list against catalog size', '', `failed: ${listcurve.error}`, '');
  if (coldcurve?.points) {
    out.push(
      '## Cold starts at once',
      '',
      `N Docker servers of the fixture image, all stopped (idle timeout ${coldcurve.idleTimeoutSeconds} s, every container gone), called at the same moment through one 2025-11-25 session; beside the floor: N \`docker run -i\` of the same image started at once, each until \`initialize\` and one \`echo\` call are answered. Median of ${coldcurve.points[0].samples} rounds per point. Chart: [cold-vs-servers.svg](cold-vs-servers.svg).`,
      '',
      table(
        [
          'servers at once',
          'gateway: all answered',
          'each (p50 / max)',
          'floor: all answered',
          'each (p50 / max)',
          'ratio'
        ],
        coldcurve.points.map(point => [
          String(point.servers),
          `${point.gateway.allMs} ms`,
          `${point.gateway.eachP50Ms} / ${point.gateway.eachMaxMs} ms`,
          `${point.dockerRun.allMs} ms`,
          `${point.dockerRun.eachP50Ms} / ${point.dockerRun.eachMaxMs} ms`,
          `${point.ratio} ×`
        ])
      ),
      ''
    );
  } else if (coldcurve?.error) out.push('## Cold starts at once', '', `failed: ${coldcurve.error}`, '');
  return out;
}
