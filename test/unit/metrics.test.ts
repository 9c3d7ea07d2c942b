import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../src/metrics.js';
import type { CallRecord } from '../../src/sessions/call-runner.js';

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

function newMetrics(
  readings: {
    serversRunning?: () => number;
    sessionsOpen?: () => number;
    logLinesDropped?: () => number;
  } = {}
) {
  return new GatewayMetrics({
    serversRunning: readings.serversRunning ?? (() => 0),
    sessionsOpen: readings.sessionsOpen ?? (() => 0),
    logLinesDropped: readings.logLinesDropped ?? (() => 0)
  });
}

async function samples(metrics: GatewayMetrics, name: string): Promise<Sample[]> {
  const metric = metrics.registry.getSingleMetric(name);
  expect(metric, name).toBeDefined();
  const data = await metric!.get();
  return data.values as Sample[];
}

/** The value of the sample with exactly these labels (and this series name, for histograms). */
async function valueOf(
  metrics: GatewayMetrics,
  name: string,
  labels: Record<string, string | number>,
  series = name
): Promise<number | undefined> {
  const found = (await samples(metrics, name)).filter(
    s => (s.metricName ?? name) === series && sameLabels(s.labels, labels)
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

function sameLabels(a: Record<string, string | number>, b: Record<string, string | number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every(key => String(a[key]) === String(b[key]));
}

function call(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    sessionId: 's1',
    clientKey: undefined,
    serverId: 'alpha',
    tool: 'alpha__echo',
    listed: true,
    startedAt: Date.now(),
    durationMs: 20,
    outcome: 'ok',
    error: undefined,
    bytesIn: 1,
    bytesOut: 2,
    cold: false,
    startMs: 0,
    code: undefined,
    ...overrides
  };
}

const CALLS = 'mcp_gateway_calls_total';
const DURATION = 'mcp_gateway_call_duration_seconds';
const COLD = 'mcp_gateway_cold_start_duration_seconds';

describe('GatewayMetrics.callFinished', () => {
  it('counts calls by server, tool and outcome', async () => {
    const metrics = newMetrics();
    metrics.callFinished(call());
    metrics.callFinished(call());
    metrics.callFinished(call({ outcome: 'tool_error' }));
    metrics.callFinished(call({ serverId: 'beta', tool: 'beta__slow', outcome: 'timeout' }));

    expect(await valueOf(metrics, CALLS, { server: 'alpha', tool: 'alpha__echo', outcome: 'ok' })).toBe(2);
    expect(
      await valueOf(metrics, CALLS, { server: 'alpha', tool: 'alpha__echo', outcome: 'tool_error' })
    ).toBe(1);
    expect(await valueOf(metrics, CALLS, { server: 'beta', tool: 'beta__slow', outcome: 'timeout' })).toBe(1);
    expect(await samples(metrics, CALLS)).toHaveLength(3);
  });

  it('observes durations in seconds, per server', async () => {
    const metrics = newMetrics();
    metrics.callFinished(call({ durationMs: 20 }));
    metrics.callFinished(call({ durationMs: 3_000, outcome: 'tool_error' }));
    metrics.callFinished(call({ serverId: 'beta', durationMs: 500 }));

    expect(await valueOf(metrics, DURATION, { server: 'alpha' }, `${DURATION}_count`)).toBe(2);
    expect(await valueOf(metrics, DURATION, { server: 'alpha' }, `${DURATION}_sum`)).toBeCloseTo(3.02, 6);
    expect(await valueOf(metrics, DURATION, { server: 'alpha', le: 0.025 }, `${DURATION}_bucket`)).toBe(1);
    expect(await valueOf(metrics, DURATION, { server: 'alpha', le: 2.5 }, `${DURATION}_bucket`)).toBe(1);
    expect(await valueOf(metrics, DURATION, { server: 'alpha', le: 5 }, `${DURATION}_bucket`)).toBe(2);
    expect(await valueOf(metrics, DURATION, { server: 'beta' }, `${DURATION}_sum`)).toBeCloseTo(0.5, 6);
  });

  it("labels a call whose name is not in the catalog 'unknown', whatever tool name the client sent", async () => {
    const metrics = newMetrics();
    for (let i = 0; i < 50; i++) {
      metrics.callFinished(
        call({
          serverId: undefined,
          listed: false,
          tool: `attacker-chosen-${i}`,
          outcome: 'protocol_error',
          durationMs: 1
        })
      );
    }

    expect(await samples(metrics, CALLS)).toEqual([
      expect.objectContaining({
        labels: { server: 'unknown', tool: 'unknown', outcome: 'protocol_error' },
        value: 50
      })
    ]);
    expect(await valueOf(metrics, DURATION, { server: 'unknown' }, `${DURATION}_count`)).toBe(50);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('attacker-chosen');
  });

  it('observes the cold-start histogram only for cold calls, from startMs', async () => {
    const metrics = newMetrics();
    metrics.callFinished(call({ cold: false, startMs: 0 }));
    expect(await valueOf(metrics, COLD, { server: 'alpha' }, `${COLD}_count`)).toBeUndefined();

    metrics.callFinished(call({ cold: true, startMs: 1_500, durationMs: 1_600 }));
    metrics.callFinished(call({ cold: true, startMs: 300, durationMs: 320 }));

    expect(await valueOf(metrics, COLD, { server: 'alpha' }, `${COLD}_count`)).toBe(2);
    expect(await valueOf(metrics, COLD, { server: 'alpha' }, `${COLD}_sum`)).toBeCloseTo(1.8, 6);
    expect(await valueOf(metrics, COLD, { server: 'alpha', le: 0.5 }, `${COLD}_bucket`)).toBe(1);
    expect(await valueOf(metrics, COLD, { server: 'alpha', le: 2 }, `${COLD}_bucket`)).toBe(2);
    // All three calls are in the duration histogram.
    expect(await valueOf(metrics, DURATION, { server: 'alpha' }, `${DURATION}_count`)).toBe(3);
  });
});

describe('GatewayMetrics.lifecycle', () => {
  it('counts starts, idle stops and crashes per server', async () => {
    const metrics = newMetrics();
    metrics.lifecycle('alpha', 'started');
    metrics.lifecycle('alpha', 'started');
    metrics.lifecycle('alpha', 'idle_stop');
    metrics.lifecycle('beta', 'started');
    metrics.lifecycle('beta', 'crashed');

    expect(await valueOf(metrics, 'mcp_gateway_server_starts_total', { server: 'alpha' })).toBe(2);
    expect(await valueOf(metrics, 'mcp_gateway_server_starts_total', { server: 'beta' })).toBe(1);
    expect(await valueOf(metrics, 'mcp_gateway_server_idle_stops_total', { server: 'alpha' })).toBe(1);
    expect(await valueOf(metrics, 'mcp_gateway_server_idle_stops_total', { server: 'beta' })).toBeUndefined();
    expect(await valueOf(metrics, 'mcp_gateway_server_crashes_total', { server: 'beta' })).toBe(1);
    expect(await valueOf(metrics, 'mcp_gateway_server_crashes_total', { server: 'alpha' })).toBeUndefined();
  });

  it('counts store write failures', async () => {
    const metrics = newMetrics();
    metrics.storeWriteFailed();
    metrics.storeWriteFailed();
    expect(await valueOf(metrics, 'mcp_gateway_store_write_failures_total', {})).toBe(2);
  });
});

describe('GatewayMetrics gauges', () => {
  it('read their callbacks at scrape time', async () => {
    let running = 1;
    let open = 4;
    let reads = 0;
    const metrics = newMetrics({
      serversRunning: () => {
        reads++;
        return running;
      },
      sessionsOpen: () => open
    });
    expect(reads).toBe(0);

    expect(await valueOf(metrics, 'mcp_gateway_servers_running', {})).toBe(1);
    expect(await valueOf(metrics, 'mcp_gateway_sessions_open', {})).toBe(4);

    running = 3;
    open = 0;
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^mcp_gateway_servers_running 3$/m);
    expect(text).toMatch(/^mcp_gateway_sessions_open 0$/m);
    expect(reads).toBeGreaterThanOrEqual(2);
  });
});

describe('GatewayMetrics exposition', () => {
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}`;
  // A Go ParseFloat value, as Prometheus reads it: NaN and Inf in any case (prom-client writes "Nan").
  const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?[iI][nN][fF]|[nN][aA][nN])';
  const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
  const COMMENT = new RegExp(
    `^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`
  );

  it('is Prometheus text format, label values escaped', async () => {
    const metrics = newMetrics({ serversRunning: () => 2, sessionsOpen: () => 1 });
    metrics.callFinished(call());
    metrics.callFinished(call({ tool: 'alpha__odd "quoted" \\ back\nslash', cold: true, startMs: 100 }));
    metrics.lifecycle('alpha', 'crashed');
    metrics.storeWriteFailed();

    const text = await metrics.registry.metrics();
    const lines = text.split('\n').filter(line => line !== '');
    expect(lines.length).toBeGreaterThan(20);

    const typed = new Set<string>();
    for (const line of lines) {
      if (line.startsWith('#')) {
        expect(line).toMatch(COMMENT);
        const type = /^# TYPE (\S+)/.exec(line);
        if (type) typed.add(type[1]!);
        continue;
      }
      const match = SAMPLE.exec(line);
      expect(match, line).not.toBeNull();
      // Every sample belongs to a declared metric (histograms add _bucket, _sum, _count).
      const name = match![1]!;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(typed.has(name) || typed.has(base), line).toBe(true);
    }

    for (const name of [CALLS, DURATION, COLD, 'mcp_gateway_servers_running', 'mcp_gateway_sessions_open']) {
      expect(typed).toContain(name);
    }
    expect(text).toContain('mcp_gateway_calls_total{server="alpha",tool="alpha__echo",outcome="ok"} 1');
    expect(text).toContain(String.raw`tool="alpha__odd \"quoted\" \\ back\nslash"`);
    expect(text).toContain('mcp_gateway_server_crashes_total{server="alpha"} 1');
    expect(text).toContain('mcp_gateway_store_write_failures_total 1');
    // Default process metrics carry the gateway's prefix.
    expect(text).toMatch(/^mcp_gateway_process_cpu_user_seconds_total /m);
  });

  it('keeps each instance to its own registry', async () => {
    const first = newMetrics();
    const second = newMetrics();
    first.callFinished(call());
    expect(await samples(first, CALLS)).toHaveLength(1);
    expect(await samples(second, CALLS)).toHaveLength(0);
  });
});
