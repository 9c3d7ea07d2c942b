import type { DatabaseSync } from 'node:sqlite';
import type { HistorySchema } from './config/schema.js';
import { describeError } from './errors.js';
import { EventHub } from './events.js';
import { droppedLogLines, type Logger } from './log.js';
import { GatewayMetrics } from './metrics.js';
import { logCall, type CallObserver } from './sessions/call-runner.js';
import type { SessionTracker } from './sessions/legacy-sessions.js';
import { ActivityLog, type ClientIdentity } from './store/activity-log.js';
import { ActivityQueries } from './store/activity-queries.js';
import { AuditLog } from './store/audit-log.js';
import type { UpstreamRegistry } from './upstream/upstream-registry.js';
import type { z } from 'zod';

/** How often old history and audit entries are pruned. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** Failed history writes are logged at most this often. */
const WRITE_FAILURE_REPORT_MS = 60_000;

export interface ObservabilityOptions {
  readonly db: DatabaseSync;
  readonly log: Logger;
  readonly history: z.output<typeof HistorySchema>;
  /** The servers: their states are counted and followed, as they come and go. */
  readonly upstreams: UpstreamRegistry;
  /** Open 2025-era sessions now. */
  readonly sessionsOpen: () => number;
  /** Items held back until approved, by server (see catalog/pin-keeper.ts). */
  readonly quarantined?: () => ReadonlyMap<string, number>;
}

/**
 * Every cross-cutting observer of the gateway, composed in this one place: the per-call log line,
 * the recorded history (sessions, sessionless clients, calls), Prometheus metrics, and the live
 * event stream. The rest of the gateway only calls the hooks returned here.
 */
export function createObservability(options: ObservabilityOptions) {
  const { db, log, history } = options;
  const events = new EventHub();
  const metrics = new GatewayMetrics({
    serversRunning: () => options.upstreams.all().filter(upstream => upstream.state === 'ready').length,
    sessionsOpen: options.sessionsOpen,
    logLinesDropped: () => droppedLogLines(log),
    ...(options.quarantined ? { quarantined: options.quarantined } : {})
  });
  const file = db.location() ?? 'the state database';
  // On a full disk every flush fails: the first failure is logged at once, then one line a minute
  // says how many records went meanwhile. The counter counts each failed flush.
  let droppedUnreported = 0;
  let lastReported = 0;
  const activity = new ActivityLog(db, {
    onWriteFailure: (error, dropped) => {
      metrics.storeWriteFailed();
      droppedUnreported += dropped;
      if (Date.now() - lastReported < WRITE_FAILURE_REPORT_MS) return;
      log.error(
        { err: describeError(error), file, dropped: droppedUnreported },
        `writing history to ${file} failed; ${droppedUnreported} records were dropped. Free space on its disk or make it writable`
      );
      droppedUnreported = 0;
      lastReported = Date.now();
    }
  });
  const queries = new ActivityQueries(db);
  const record = history.enabled;
  const now = () => new Date().toISOString();

  const logLine = logCall(log);
  const onCall: CallObserver = call => {
    logLine(call);
    if (record) activity.requestFinished(call);
    metrics.callFinished(call);
    if (events.size > 0) {
      events.publish({
        type: 'request_finished',
        server: call.serverId,
        tool: call.tool,
        outcome: call.outcome,
        durationMs: call.durationMs,
        session: call.sessionId,
        at: now()
      });
    }
  };

  const tracker: SessionTracker = {
    sessionOpened: session => {
      if (record) activity.sessionOpened(session);
      events.publish({ type: 'session_opened', session: session.id, client: session.name, at: now() });
    },
    sessionSeen: id => {
      if (record) activity.sessionSeen(id);
    },
    sessionClosed: (id, reason) => {
      if (record) activity.sessionClosed(id, reason);
      events.publish({ type: 'session_closed', session: id, reason, at: now() });
    }
  };

  const onModernRequest = (identity: ClientIdentity) => {
    if (record) activity.clientSeen(identity);
  };

  options.upstreams.each(({ upstream }) =>
    upstream.addListener({
      onState: (source, state) =>
        events.publish({ type: 'server_state', server: source.id, state, at: now() }),
      onLifecycle: (source, event) => metrics.lifecycle(source.id, event)
    })
  );

  // The audit table follows the history's retention, and is pruned even when history is off: it
  // records every failed authentication, which anyone who reaches the port can cause.
  const audit = new AuditLog(db);
  const prune = () => {
    try {
      audit.prune(history.retentionDays);
      if (!record) return;
      const removed = activity.prune(history.retentionDays, history.maxRequests);
      if (removed > 0) log.info({ removed }, 'pruned old request history');
    } catch (error) {
      metrics.storeWriteFailed();
      log.error({ err: describeError(error), file }, `pruning history and audit entries in ${file} failed`);
    }
  };
  prune();
  const pruner = setInterval(prune, PRUNE_INTERVAL_MS);
  pruner.unref();

  return {
    events,
    metrics,
    queries,
    onCall,
    tracker,
    onModernRequest,
    flushHistory: () => activity.flush(),
    /** Stops timers and commits what is queued. Call after the sessions are closed. */
    close: () => {
      clearInterval(pruner);
      activity.close();
    }
  };
}
