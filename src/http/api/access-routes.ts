import type { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../store/audit-log.js';
import type { TokenRecord } from '../../store/token-store.js';
import { principalOf } from '../auth/authenticate.js';
import { HttpError } from '../http-error.js';
import type { GrantView } from '../oauth/grants.js';
import { parseParams } from './params.js';

/** Who may call the gateway: its tokens and the OAuth grants it gave, as `mcp-gateway token list` shows them. */
export interface AccessList {
  /** Every gateway token (never its secret), revoked and expired ones too. */
  tokens(): TokenRecord[];
  /** The OAuth grants in force (`auth.mode: oauth`; none in other modes). */
  grants(): GrantView[];
  /**
   * Revokes the live token with id `id`, or else the OAuth grant with that id and every token issued
   * under it; what it was, or undefined when neither is live. By id only: a token's name could be
   * another token's or a grant's id.
   */
  revoke(id: string): 'token' | 'grant' | undefined;
}

const RevokeParams = z.strictObject({ id: z.string().min(1).max(200) });

/**
 * Adds `/tokens` to the API `router`, as the CLI's `token list` and `token revoke`: `GET` lists the
 * gateway's tokens and OAuth grants, `DELETE /tokens/:id` revokes one (audited like the CLI's, with
 * the principal who asked). A revoked token or grant is refused from its next request on.
 */
export function addAccessRoutes(router: Router, access: AccessList, audit: AuditLog): void {
  router.get('/tokens', (_req, res) => {
    res.json({ tokens: access.tokens(), grants: access.grants() });
  });
  router.delete('/tokens/:id', (req, res) => {
    const { id } = parseParams(RevokeParams, req.params, 'path');
    const kind = access.revoke(id);
    if (kind === undefined) {
      throw new HttpError(404, -32602, `no active token or OAuth grant "${id}": GET /api/tokens lists them`);
    }
    audit.record(kind === 'token' ? 'token_revoked' : 'grant_revoked', {
      principal: principalOf(res.locals)?.id,
      remoteAddress: req.socket.remoteAddress,
      detail: kind === 'token' ? { token: id } : { grant: id }
    });
    res.json({ revoked: id, kind });
  });
}
