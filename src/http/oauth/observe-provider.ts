import type { EventEmitter } from 'node:events';
import type Provider from 'oidc-provider';
import type { Client, errors, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../log.js';
import type { AuditLog } from '../../store/audit-log.js';

/** Token-endpoint refusals that mean a presented credential was wrong, not a malformed request. */
const AUTH_FAILURES = new Set(['invalid_grant', 'invalid_client']);

type ProviderError = errors.OIDCProviderError;

/**
 * Routes oidc-provider's events to the audit log (registrations, grants revoked by a client or by
 * refresh-token reuse, refused credentials at the token endpoint) and to the gateway's logger.
 * Also takes over Koa's `error` event, whose default handler would write to the console.
 */
export function observeProvider(provider: Provider, audit: AuditLog, log: Logger): void {
  const clientIdOf = (ctx: KoaContextWithOIDC) => ctx.oidc?.client?.clientId;

  provider.on('registration_create.success', (ctx: KoaContextWithOIDC, client: Client) => {
    audit.record('client_registered', {
      principal: `oauth:${client.clientId}`,
      remoteAddress: ctx.ip,
      detail: {
        clientId: client.clientId,
        clientName: client.clientName ?? null,
        redirectUris: client.redirectUris,
        tokenEndpointAuthMethod: client.clientAuthMethod
      }
    });
    log.info({ clientId: client.clientId, clientName: client.clientName }, 'OAuth client registered');
  });

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const clientId = clientIdOf(ctx);
    audit.record('grant_revoked', {
      ...(clientId ? { principal: `oauth:${clientId}` } : {}),
      remoteAddress: ctx.ip,
      // `token`: a rotated refresh token was presented again, so the whole grant is assumed stolen.
      detail: { grantId, clientId: clientId ?? null, via: ctx.oidc?.route ?? null }
    });
  });

  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: ProviderError) => {
    const clientId = clientIdOf(ctx);
    if (AUTH_FAILURES.has(error.error)) {
      audit.record('auth_failed', {
        ...(clientId ? { principal: `oauth:${clientId}` } : {}),
        remoteAddress: ctx.ip,
        detail: { endpoint: 'token', error: error.error, description: error.error_description ?? null }
      });
    }
    log.info(
      { clientId, error: error.error, description: error.error_description },
      'OAuth token request refused'
    );
  });

  const refused = (event: string) => (ctx: KoaContextWithOIDC, error: ProviderError) => {
    log.info(
      { event, clientId: clientIdOf(ctx), error: error.error, description: error.error_description },
      'OAuth request refused'
    );
  };
  provider.on('authorization.error', refused('authorization.error'));
  provider.on('registration_create.error', refused('registration_create.error'));
  provider.on('revocation.error', refused('revocation.error'));
  provider.on('discovery.error', refused('discovery.error'));

  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    log.error({ err: error.message, path: ctx.path }, 'OAuth server error');
  });
  (provider as EventEmitter).on('error', (error: Error) => {
    log.error({ err: error.message }, 'OAuth request failed');
  });
}
