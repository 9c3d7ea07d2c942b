import type { DatabaseSync } from 'node:sqlite';
import type { Router } from 'express';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { Logger } from '../../log.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { SettingsStore } from '../../store/settings-store.js';

/** An OAuth grant as `token list` and `/api/grants` show it. */
export interface GrantView {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

export interface OAuthServerOptions {
  /** The gateway's public https base URL (`gateway.publicUrl`); the MCP resource is `${publicUrl}/mcp`. */
  readonly publicUrl: string;
  readonly db: DatabaseSync;
  readonly settings: SettingsStore;
  readonly audit: AuditLog;
  readonly log: Logger;
}

/** The gateway as its own OAuth 2.1 authorization server. */
export interface OAuthServer {
  /** Mounted at the root: metadata documents, registration, authorization, consent, token, revocation. */
  readonly router: Router;
  /** Accepts the access tokens this server issued for the MCP resource. */
  readonly verifier: TokenVerifier;
  grants(): Promise<GrantView[]>;
  /** Revokes a grant and every token issued under it. False when there is no such grant. */
  revokeGrant(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Not built yet: `gateway.auth.mode: oauth` refuses to start with this message. */
export function createOAuthServer(_options: OAuthServerOptions): Promise<OAuthServer> {
  return Promise.reject(new Error('the built-in OAuth server is not available yet'));
}
