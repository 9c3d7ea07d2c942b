import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RemoteLogins } from '../../connectors/oauth/remote-logins.js';
import type { AuditLog } from '../../store/audit-log.js';
import { principalOf } from '../auth/authenticate.js';
import { HttpError } from '../http-error.js';
import { parseParams } from './params.js';

const ServerParams = z.strictObject({ id: z.string().min(1) });

/**
 * `/api/servers/:id/login` (mounted at `/servers`): start a login to a remote server with `auth: oauth` (POST answers
 * the authorization URL to open), see how it stands (GET), forget its tokens (DELETE). For a
 * server with `credentials: per-user` the login is the caller's own; otherwise the gateway's.
 */
export function createLoginRoutes(logins: RemoteLogins | undefined, audit: AuditLog): Router {
  const router = Router();
  const target = (req: Request, res: Response) => {
    const { id } = parseParams(ServerParams, req.params, 'path');
    if (logins === undefined || !logins.has(id)) {
      throw new HttpError(
        404,
        -32602,
        `no remote server "${id}" with \`auth: oauth\`: only those take a login`
      );
    }
    const principal = logins.perUser(id) ? (principalOf(res.locals)?.id ?? '') : '';
    return { logins, id, principal };
  };
  const record = (req: Request, res: Response, action: string, server: string) =>
    audit.record('admin_action', {
      principal: principalOf(res.locals)?.id,
      remoteAddress: req.socket.remoteAddress,
      detail: { action, server }
    });

  router.post('/:id/login', async (req, res) => {
    const { logins, id, principal } = target(req, res);
    record(req, res, 'login', id);
    const { authorizationUrl } = await logins.start(id, principal);
    res.json({ server: id, authorizationUrl, ...logins.status(id, principal) });
  });
  router.get('/:id/login', (req, res) => {
    const { logins, id, principal } = target(req, res);
    res.json({ server: id, ...logins.status(id, principal) });
  });
  router.delete('/:id/login', (req, res) => {
    const { logins, id, principal } = target(req, res);
    record(req, res, 'logout', id);
    res.json({ server: id, forgotten: logins.logout(id, principal), ...logins.status(id, principal) });
  });
  return router;
}
