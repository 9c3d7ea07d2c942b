import { randomBytes } from 'node:crypto';
import {
  auth,
  type FetchLike,
  type OAuthClientInformationContext,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens
} from '@modelcontextprotocol/client';
import type { RemoteOAuth } from '../../config/server-spec.js';
import { GatewayError } from '../../errors.js';
import type { CredentialOwner, RemoteCredentialStore } from '../../store/remote-credential-store.js';
import { StoreError } from '../../store/store-error.js';

/** Tokens are refreshed when they have less than this left (or a tenth of their life, if less). */
const REFRESH_MARGIN_MS = 60_000;
/** The longest one refresh holds off the others (a token request that neither answers nor fails). */
const REFRESH_LOCK_MS = 30_000;

/** The gateway as an OAuth client, as every remote server sees it. */
export interface GatewayClient {
  /** Where the authorization server sends the browser back: the gateway's callback route. */
  readonly redirectUrl: string;
  /** The gateway's Client ID Metadata Document URL (https only), used when the server supports it. */
  readonly clientMetadataUrl: string | undefined;
}

/** What one login in progress keeps until the browser comes back. */
export interface LoginAttempt {
  /** The OAuth `state` sent with the authorization request; the callback is matched by it. */
  readonly state: string;
  verifier?: string;
  authorizationUrl?: URL;
}

export interface RemoteOAuthProviderOptions {
  readonly serverId: string;
  /** The principal the tokens belong to, or "" for the credentials the gateway shares. */
  readonly principal: string;
  /** The server's MCP endpoint: the protected resource. */
  readonly serverUrl: URL;
  readonly oauth: RemoteOAuth;
  readonly client: GatewayClient;
  readonly store: RemoteCredentialStore;
  /** Set for the provider of a login: the authorization URL is captured instead of refused. */
  readonly login?: LoginAttempt;
  /** The fetch the SDK's OAuth requests use (one that trusts the server's `ca:`); default: global fetch. */
  readonly fetchFn?: FetchLike;
  /** The clock, for tests of refresh before expiry. */
  readonly now?: () => number;
}

/** Stored tokens and when the access token expires (ms since the epoch), when the server said. */
interface TokenRecord {
  readonly tokens: StoredOAuthTokens;
  readonly expiresAt: number | undefined;
  readonly lifetimeMs: number | undefined;
}

/**
 * The SDK's `OAuthClientProvider` for one remote server and one principal, over the encrypted
 * credential store. The SDK's `auth()` does discovery from the 401 (protected resource metadata,
 * then authorization server metadata), the `resource` parameter, PKCE S256 and the RFC 9207 `iss`
 * check; this keeps what it learns. The client (its registration or metadata document URL) and
 * the discovery state are the server's, shared by its principals; tokens are the principal's own.
 *
 * Outside a login, a flow that would send a browser to the authorization server fails instead
 * with `login_required`, saying to run `mcp-gateway login SERVER`: no tokens, a refresh the
 * server refused, tokens that cannot be decrypted. A token near its expiry is refreshed before
 * the request that reads it.
 */
export class RemoteOAuthProvider implements OAuthClientProvider {
  readonly clientMetadataUrl: string | undefined;
  private readonly owner: CredentialOwner;
  private readonly shared: CredentialOwner;
  private readonly now: () => number;
  private refreshing: Promise<void> | undefined;
  /** Held by the SDK flow that read the refresh token, until it saves new tokens or gives up. */
  private refreshLock: { readonly done: Promise<void>; readonly release: () => void } | undefined;

  constructor(private readonly options: RemoteOAuthProviderOptions) {
    this.owner = { serverId: options.serverId, principal: options.principal };
    this.shared = { serverId: options.serverId, principal: '' };
    this.now = options.now ?? Date.now;
    // A pre-registered client needs no document; the SDK takes only https document URLs.
    this.clientMetadataUrl =
      options.oauth.clientId === undefined && options.client.clientMetadataUrl?.startsWith('https://')
        ? options.client.clientMetadataUrl
        : undefined;
  }

  get redirectUrl(): string {
    return this.options.client.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return clientMetadataOf(this.options.client, this.options.oauth);
  }

  state(): string {
    return this.options.login?.state ?? randomBytes(16).toString('base64url');
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    const stored = this.read(this.shared, 'client') as StoredOAuthClientInformation | undefined;
    const { clientId, clientSecret } = this.options.oauth;
    if (clientId === undefined) return this.stillOurs(stored);
    // The configured client wins over one stored for an earlier config.
    if (stored?.client_id === clientId && stored.client_secret === clientSecret) return stored;
    return { client_id: clientId, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }) };
  }

  /**
   * A stored client made for another callback URL or metadata document (the gateway's publicUrl or
   * port changed) would fail at the authorization server: it counts as none, and the SDK makes a
   * new one.
   */
  private stillOurs(stored: StoredOAuthClientInformation | undefined) {
    if (stored === undefined) return undefined;
    const redirectUris = (stored as { redirect_uris?: unknown }).redirect_uris;
    if (Array.isArray(redirectUris)) return redirectUris.includes(this.redirectUrl) ? stored : undefined;
    if (stored.client_id.startsWith('https://')) {
      return stored.client_id === this.clientMetadataUrl ? stored : undefined;
    }
    return stored;
  }

  saveClientInformation(information: StoredOAuthClientInformation): void {
    this.options.store.write(this.shared, 'client', information);
  }

  /**
   * With `ctx` (the SDK's `auth()`), the stored tokens as they are. Without (the transport's read
   * before each request), tokens near expiry are refreshed first, and having none is an error.
   */
  async tokens(ctx?: OAuthClientInformationContext): Promise<StoredOAuthTokens | undefined> {
    if (this.options.login) return this.record()?.tokens;
    while (this.refreshLock) await this.refreshLock.done;
    const record = this.record();
    if (ctx !== undefined) {
      // auth() reads the tokens to refresh them: the next flow waits until this one has saved
      // (or given up), so a rotating refresh token is never presented twice (reuse detection at
      // the server would revoke the whole grant).
      if (record?.tokens.refresh_token !== undefined) this.lockRefresh();
      return record?.tokens;
    }
    if (record === undefined) throw this.loginRequired('the gateway has no OAuth tokens for it');
    if (record.tokens.refresh_token !== undefined && this.expiresSoon(record)) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
      return this.record()?.tokens;
    }
    return record.tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    const lifetimeMs = typeof tokens.expires_in === 'number' ? tokens.expires_in * 1000 : undefined;
    const record: TokenRecord = {
      tokens,
      lifetimeMs,
      expiresAt: lifetimeMs === undefined ? undefined : this.now() + lifetimeMs
    };
    this.options.store.write(this.owner, 'tokens', record);
    this.unlockRefresh();
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.unlockRefresh();
    if (!this.options.login) {
      throw this.loginRequired('its OAuth tokens have expired or were revoked, and refreshing them failed');
    }
    this.options.login.authorizationUrl = authorizationUrl;
  }

  saveCodeVerifier(codeVerifier: string): void {
    if (this.options.login) this.options.login.verifier = codeVerifier;
  }

  codeVerifier(): string {
    const verifier = this.options.login?.verifier;
    if (verifier === undefined) {
      throw new GatewayError('login_failed', `no login to server "${this.options.serverId}" is in progress`, {
        serverId: this.options.serverId
      });
    }
    return verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.options.store.write(this.shared, 'discovery', state);
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.read(this.shared, 'discovery') as OAuthDiscoveryState | undefined;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    const { store } = this.options;
    if (scope === 'all' || scope === 'tokens') {
      store.forget(this.owner, ['tokens']);
      this.unlockRefresh();
    }
    if (scope === 'all' || scope === 'client') store.forget(this.shared, ['client']);
    if (scope === 'all' || scope === 'discovery') store.forget(this.shared, ['discovery']);
    if ((scope === 'all' || scope === 'verifier') && this.options.login) delete this.options.login.verifier;
  }

  /** The stored tokens, or undefined when there are none. */
  private record(): TokenRecord | undefined {
    return this.read(this.owner, 'tokens') as TokenRecord | undefined;
  }

  private lockRefresh(): void {
    let release!: () => void;
    const done = new Promise<void>(resolve => (release = resolve));
    // A flow that fails in a way that reaches none of the release points frees it in time.
    const timer = setTimeout(() => this.unlockRefresh(), REFRESH_LOCK_MS);
    timer.unref();
    this.refreshLock = {
      done,
      release: () => {
        clearTimeout(timer);
        release();
      }
    };
  }

  private unlockRefresh(): void {
    const lock = this.refreshLock;
    this.refreshLock = undefined;
    lock?.release();
  }

  private expiresSoon(record: TokenRecord): boolean {
    if (record.expiresAt === undefined) return false;
    const margin = Math.min(REFRESH_MARGIN_MS, (record.lifetimeMs ?? Infinity) / 10);
    return record.expiresAt - this.now() <= margin;
  }

  /** The SDK's `auth()` with a refresh token refreshes; when the server refuses, it ends in `redirectToAuthorization`. */
  private async refresh(): Promise<void> {
    await auth(this, { serverUrl: this.options.serverUrl, fetchFn: this.options.fetchFn });
  }

  private read(owner: CredentialOwner, kind: 'client' | 'tokens' | 'discovery'): unknown {
    try {
      return this.options.store.read(owner, kind);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'tampered') {
        throw new GatewayError('login_required', error.message, {
          cause: error,
          serverId: this.options.serverId
        });
      }
      throw error;
    }
  }

  private loginRequired(why: string): GatewayError {
    const { serverId, principal } = this.options;
    const who = principal === '' ? '' : ` for ${principal}`;
    return new GatewayError(
      'login_required',
      `server "${serverId}" needs an OAuth login${who}: ${why}. Run \`mcp-gateway login ${serverId}\`` +
        (principal === '' ? '' : ` with ${principal}'s own gateway token (--token)`) +
        ' and approve the gateway in the browser',
      { serverId, detail: { login: true } }
    );
  }
}

/** The gateway's client metadata: what it registers, and what its metadata document says. */
export function clientMetadataOf(client: GatewayClient, oauth?: RemoteOAuth): OAuthClientMetadata {
  return {
    client_name: 'mcp-gateway',
    redirect_uris: [client.redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: oauth?.clientSecret === undefined ? 'none' : 'client_secret_basic',
    ...(oauth?.scope === undefined ? {} : { scope: oauth.scope })
  };
}
