import { describe, expect, it } from 'vitest';
import { HistorySchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createObservability } from '../../src/observability.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { memoryDatabase } from '../support/memory-database.js';
import { UpstreamRegistry } from '../../src/upstream/upstream-registry.js';

const DAY = 86_400_000;

describe('audit retention', () => {
  it.each([true, false])(
    'prunes audit entries older than history.retentionDays at start (history enabled: %s)',
    enabled => {
      const db = memoryDatabase();
      const audit = new AuditLog(db);
      audit.record('auth_failed', { remoteAddress: '192.0.2.1' });
      audit.record('token_created', { principal: 'ops' });
      const old = new Date(Date.now() - 8 * DAY).toISOString();
      db.prepare("UPDATE audit SET at = ? WHERE event = 'auth_failed'").run(old);

      const observe = createObservability({
        db,
        log: createLogger('silent'),
        history: HistorySchema.parse({ enabled, retentionDays: 7 }),
        upstreams: UpstreamRegistry.fixed([], []),
        sessionsOpen: () => 0
      });
      observe.close();

      expect(audit.list(10).map(entry => entry.event)).toEqual(['token_created']);
      db.close();
    }
  );
});
