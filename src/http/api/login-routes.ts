import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { RemoteLogins } from '../../connectors/oauth/remote-logins.js';
import type { AuditLog } from '../../store/audit-log.js';
import { principalOf } from '../auth/authenticate.js';
import { HttpError } from '../http-error.js';
import { parseParams } from './params.js';

const ServerParams = z.strictObject({ id: z.string().min(1) });

/** The login a request is about: a server, and whose (`""`: the gateway's). */
interface Target {
  readonly logins: RemoteLogins;
  readonly id: string;
  readonly principal: string;
}

/**
 * `/api/servers/:id/login` (mounted at `/servers`): start a login to a remote server with `auth: oauth` (POST answers
 * the authorization URL to open), see how it stands (GET), forget its tokens (DELETE). For a
 * server with `credentials: per-user` the login is the caller's own; otherwise the gateway's.
 */
export function createLoginRoutes(logins: RemoteLogins | undefined, audit: AuditLog): Router {
  return loginRouter(audit, (req, res) => {
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
  });
}

/**
 * The same routes (mounted at `/api`) for any principal `authenticate` admits, not only admins, and only for its own
 * login to a server with `credentials: per-user`: the login is always the caller's, so no principal
 * can start, see or forget another's. Any other server is left to the admin-only routes
 * (`next('router')`, before authenticating).
 */
export function createOwnLoginRoutes(
  logins: RemoteLogins | undefined,
  audit: AuditLog,
  authenticate: readonly RequestHandler[]
): Router {
  const perUser = (id: unknown) =>
    typeof id === 'string' && logins !== undefined && logins.has(id) && logins.perUser(id);
  const router = Router();
  router.use(
    '/servers/:id/login',
    (req, _res, next) => next(perUser(req.params.id) ? undefined : 'router'),
    ...authenticate
  );
  router.use(
    '/servers',
    loginRouter(audit, (req, res) => {
      const { id } = parseParams(ServerParams, req.params, 'path');
      const principal = principalOf(res.locals);
      if (principal === undefined || principal.kind === 'anonymous') {
        throw new HttpError(
          403,
          -32600,
          `server "${id}" has credentials: per-user: log in as an authenticated principal (its own gateway token, --token), each with its own login`
        );
      }
      return { logins: logins!, id, principal: principal.id };
    })
  );
  return router;
}

/** POST, GET and DELETE on `/:id/login` for the login `target` picks; none picked: next route. */
function loginRouter(audit: AuditLog, target: (req: Request, res: Response) => Target | undefined): Router {
  const router = Router();
  const record = (req: Request, res: Response, action: string, server: string) =>
    audit.record('admin_action', {
      principal: principalOf(res.locals)?.id,
      remoteAddress: req.socket.remoteAddress,
      detail: { action, server }
    });
  const route =
    (handle: (picked: Target, req: Request, res: Response) => Promise<void> | void) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const picked = target(req, res);
      if (picked === undefined) next();
      else await handle(picked, req, res);
    };

  router.post(
    '/:id/login',
    route(async ({ logins, id, principal }, req, res) => {
      record(req, res, 'login', id);
      const { authorizationUrl } = await logins.start(id, principal);
      res.json({ server: id, authorizationUrl, ...logins.status(id, principal) });
    })
  );
  router.get(
    '/:id/login',
    route(({ logins, id, principal }, _req, res) => {
      res.json({ server: id, ...logins.status(id, principal) });
    })
  );
  router.delete(
    '/:id/login',
    route(({ logins, id, principal }, req, res) => {
      record(req, res, 'logout', id);
      res.json({ server: id, forgotten: logins.logout(id, principal), ...logins.status(id, principal) });
    })
  );
  return router;
}
