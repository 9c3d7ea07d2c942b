import type { Router } from 'express';
import { z } from 'zod';
import type { Catalog } from '../../catalog/catalog.js';
import { principalOf } from '../auth/authenticate.js';
import { HttpError } from '../http-error.js';
import { parseParams } from './params.js';
import { noServer } from './no-server.js';

const ServerParams = z.strictObject({ id: z.string().min(1) });
const ApproveBody = z.strictObject({
  items: z
    .array(z.string().min(1).max(1000), { error: 'items must be a list of item names' })
    .max(1000)
    .optional()
});

/**
 * Adds the pinned-definition routes to the API `router`: `GET /quarantine` lists every held item
 * with its approved and current definition and their difference; `POST /servers/:id/approve`
 * approves a server's held items (all, or `items`), answering what it approved, or 409 naming what
 * is quarantined when an item named is not.
 */
export function addQuarantineRoutes(
  router: Router,
  catalog: Catalog,
  hasServer: (id: string) => boolean
): void {
  router.get('/quarantine', (_req, res) => {
    res.json({ items: catalog.quarantine() });
  });
  router.post('/servers/:id/approve', (req, res) => {
    const { id } = parseParams(ServerParams, req.params, 'path');
    if (!hasServer(id)) throw new HttpError(404, -32602, noServer(id));
    const { items = [] } = parseParams(ApproveBody, req.body === undefined ? {} : req.body, 'body');
    const approved = catalog.approve(id, items, principalOf(res.locals)?.id ?? 'api');
    res.json({
      approved,
      quarantined: catalog.quarantine().filter(item => item.server === id)
    });
  });
}
