import type { Router } from 'express';
import type { ReloadResult, ReloadTrigger } from '../../config-reloader.js';
import type { AuditLog } from '../../store/audit-log.js';
import { principalOf } from '../auth/authenticate.js';

/** What the reload routes drive: the gateway's config reloader. */
export interface Reloads {
  reload(trigger: ReloadTrigger): Promise<ReloadResult>;
  readonly last: ReloadResult | undefined;
}

/**
 * Adds `/reload` to the API `router`: `POST` reloads servers.yaml now and answers what it did, 200
 * when it was applied, 422 when it was refused (its `problems`, `file:line:col`, and an `error` of
 * the one /api error shape, code `config_refused`; the running config stays); `GET` answers the last
 * reload's result (null before the first).
 */
export function addReloadRoutes(router: Router, reloads: Reloads, audit: AuditLog): void {
  router.get('/reload', (_req, res) => {
    res.json({ last: reloads.last ?? null });
  });
  router.post('/reload', async (req, res) => {
    audit.record('admin_action', {
      principal: principalOf(res.locals)?.id,
      remoteAddress: req.socket.remoteAddress,
      detail: { action: 'reload' }
    });
    const result = await reloads.reload('api');
    if (result.ok) {
      res.json(result);
      return;
    }
    res.status(422).json({
      ...result,
      error: {
        code: 'config_refused',
        message: `the config was refused: ${result.file} has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}; the running config stays. Fix them and reload again`
      }
    });
  });
}
