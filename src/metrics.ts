import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallRecord } from './sessions/call-runner.js';

/**
 * The gateway's Prometheus metrics, served at `/metrics`. Counters are bumped by observers
 * composed in the composition root; gauges are read at scrape time from the callbacks given.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'server' | 'tool' | 'outcome'>;
  private readonly callDuration: Histogram<'server'>;
  private readonly coldStart: Histogram<'server'>;
  private readonly starts: Counter<'server'>;
  private readonly idleStops: Counter<'server'>;
  private readonly crashes: Counter<'server'>;
  private readonly storeWriteFailures: Counter;

  constructor(readings: {
    serversRunning: () => number;
    sessionsOpen: () => number;
    logLinesDropped: () => number;
    /** Items held back (pinned definitions that changed, new under trust: manual, images), by server. */
    quarantined?: () => ReadonlyMap<string, number>;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mcp_gateway_' });
    this.calls = new Counter({
      name: 'mcp_gateway_calls_total',
      help: 'tools/call requests by server, tool and outcome',
      labelNames: ['server', 'tool', 'outcome'],
      registers
    });
    this.callDuration = new Histogram({
      name: 'mcp_gateway_call_duration_seconds',
      help: 'tools/call duration, including any cold start',
      labelNames: ['server'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers
    });
    this.coldStart = new Histogram({
      name: 'mcp_gateway_cold_start_duration_seconds',
      help: 'time to start a stopped server for a call (process or container, plus handshake)',
      labelNames: ['server'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers
    });
    this.starts = new Counter({
      name: 'mcp_gateway_server_starts_total',
      help: 'server starts',
      labelNames: ['server'],
      registers
    });
    this.idleStops = new Counter({
      name: 'mcp_gateway_server_idle_stops_total',
      help: 'servers stopped by their idle timer',
      labelNames: ['server'],
      registers
    });
    this.crashes = new Counter({
      name: 'mcp_gateway_server_crashes_total',
      help: 'servers that exited without being asked to',
      labelNames: ['server'],
      registers
    });
    this.storeWriteFailures = new Counter({
      name: 'mcp_gateway_store_write_failures_total',
      help: 'failed writes of session and request history',
      registers
    });
    let logLinesCounted = 0;
    new Counter({
      name: 'mcp_gateway_log_lines_dropped_total',
      help: 'log lines dropped because the log destination failed (a full disk, a closed pipe) or fell 1 MiB behind',
      registers,
      collect() {
        const dropped = readings.logLinesDropped();
        if (dropped > logLinesCounted) this.inc(dropped - logLinesCounted);
        logLinesCounted = dropped;
      }
    });
    new Gauge({
      name: 'mcp_gateway_servers_running',
      help: 'servers currently running',
      registers,
      collect() {
        this.set(readings.serversRunning());
      }
    });
    new Gauge({
      name: 'mcp_gateway_quarantined',
      help: 'tools, prompts, resource templates and images held back until approved, by server',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const [server, count] of readings.quarantined?.() ?? []) this.set({ server }, count);
      }
    });
    new Gauge({
      name: 'mcp_gateway_sessions_open',
      help: 'open 2025-era sessions',
      registers,
      collect() {
        this.set(readings.sessionsOpen());
      }
    });
  }

  callFinished(record: CallRecord): void {
    const server = record.serverId ?? 'unknown';
    // A name not in the catalog is the client's text: not a label, or any client could grow the
    // metric without bound.
    const tool = record.listed ? record.tool : 'unknown';
    this.calls.inc({ server, tool, outcome: record.outcome });
    this.callDuration.observe({ server }, record.durationMs / 1000);
    if (record.cold) this.coldStart.observe({ server }, record.startMs / 1000);
  }

  lifecycle(server: string, event: 'started' | 'idle_stop' | 'crashed'): void {
    (event === 'started' ? this.starts : event === 'idle_stop' ? this.idleStops : this.crashes).inc({
      server
    });
  }

  storeWriteFailed(): void {
    this.storeWriteFailures.inc();
  }
}
