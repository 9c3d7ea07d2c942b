// The curves of a run as SVG charts beside its results (bench/results/*.svg), each beside its floor.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChart } from './svg-chart.mjs';

/** Writes the charts the run has data for; returns their file names. */
export function writeCharts(results, outDir) {
  const written = [];
  const write = (file, chart) => {
    writeFileSync(path.join(outDir, file), lineChart(chart));
    written.push(file);
  };
  const { concurrency, memory } = results.sections;
  if (concurrency?.levels?.length > 1) {
    write('calls-vs-sessions.svg', {
      title: 'tools/call calls/s against concurrent sessions (minimal HTTP client)',
      xLabel: 'concurrent sessions',
      yLabel: 'calls/s',
      logX: true,
      series: [
        { name: 'gateway', points: concurrency.levels.map(level => [level.sessions, level.callsPerSec]) },
        ...(concurrency.floorLevels?.length
          ? [
              {
                name: 'floor: bare Node relay',
                dashed: true,
                points: concurrency.floorLevels.map(level => [level.sessions, level.callsPerSec])
              }
            ]
          : [])
      ]
    });
  }
  const curve = memory?.sessions?.curve;
  if (curve?.length > 2) {
    const MB = 1024 * 1024;
    write('memory-vs-sessions.svg', {
      title: 'Gateway RSS against open sessions (2025-11-25 sessions, idle)',
      xLabel: 'open sessions',
      yLabel: 'RSS (MB)',
      series: [
        { name: 'gateway', points: curve.map(point => [point.sessions, point.rss / MB]) },
        ...(memory.floors
          ? [
              {
                name: 'floor: Node.js + libraries',
                dashed: true,
                points: curve.map(point => [point.sessions, memory.floors.librariesRss / MB])
              }
            ]
          : [])
      ]
    });
  }
  const list = results.sections.listcurve?.points;
  if (list?.length > 1) {
    const line = (name, key, dashed = false) => ({
      name,
      dashed,
      points: list.map(point => [point.tools, point.p50Ms[key]])
    });
    write('list-vs-catalog.svg', {
      title: 'tools/list p50, the whole list (pages of 1,000), against catalog size',
      xLabel: 'stored tools',
      yLabel: 'ms',
      logX: true,
      series: [
        line('gateway, 2026', 'modern'),
        line('gateway, 2025 session', 'legacy'),
        line('floor: bare node:http', 'floor', true)
      ]
    });
  }
  const cold = results.sections.coldcurve?.points;
  if (cold?.length > 1) {
    write('cold-vs-servers.svg', {
      title: 'Cold start: time until every call is answered, servers started at once',
      xLabel: 'Docker servers started at once',
      yLabel: 'ms',
      logX: true,
      series: [
        { name: 'gateway', points: cold.map(point => [point.servers, point.gateway.allMs]) },
        {
          name: 'floor: docker run -i, at once',
          dashed: true,
          points: cold.map(point => [point.servers, point.dockerRun.allMs])
        }
      ]
    });
  }
  return written;
}
