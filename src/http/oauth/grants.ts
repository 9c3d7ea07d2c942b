import type { OAuthModelStore } from './oauth-model-store.js';

/** An OAuth grant as `token list` and the API show it. */
export interface GrantView {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

/** The live OAuth grants in `store`, as `token list` and the API show them. */
export function grantViews(store: OAuthModelStore): GrantView[] {
  const isoOf = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();
  return store.liveGrants().map(grant => {
    const clientId = grant.clientId ?? '';
    const client = store.inspect('Client', clientId)?.payload;
    return {
      id: grant.jti ?? '',
      clientId,
      clientName: typeof client?.client_name === 'string' ? client.client_name : null,
      createdAt: isoOf(grant.iat ?? 0),
      expiresAt: grant.exp === undefined ? null : isoOf(grant.exp)
    };
  });
}
