import { randomBytes } from 'node:crypto';
import {
  auth,
  extractWWWAuthenticateParams,
  validateAuthorizationResponseIssuer,
  type FetchLike
} from '@modelcontextprotocol/client';
import type { RemoteOAuth } from '../../config/server-spec.js';
import { describeError, GatewayError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RemoteCredentialStore } from '../../store/remote-credential-store.js';
import { RemoteOAuthProvider, type GatewayClient, type LoginAttempt } from './remote-oauth-provider.js';

/** A login not finished within this is dropped: its authorization code would have expired anyway. */
const LOGIN_TTL_MS = 10 * 60_000;

/** A remote server the gateway logs in to. */
export interface OAuthServer {
  readonly id: string;
  /** Its MCP endpoint. */
  readonly url: URL;
  readonly oauth: RemoteOAuth;
  /** For a server with its own `ca:`: a fetch that trusts it. */
  readonly fetchFn?: FetchLike;
}

/** Where a principal's login to a server stands. */
export type LoginStatus =
  | { readonly state: 'none' }
  | { readonly state: 'pending'; readonly authorizationUrl: string; readonly startedAt: string }
  | { readonly state: 'done'; readonly at: string }
  | { readonly state: 'failed'; readonly error: string; readonly at: string };

interface Pending {
  readonly server: OAuthServer;
  readonly principal: string;
  readonly attempt: LoginAttempt;
  readonly startedAt: number;
}

export interface RemoteLoginsOptions {
  readonly store: RemoteCredentialStore;
  readonly client: GatewayClient;
  /** Told when a login starts, completes or fails. */
  readonly log?: Logger;
  readonly now?: () => number;
}

/**
 * The gateway's OAuth logins to remote servers: the one provider per (server, principal) that a
 * remote connector hands to the SDK's transport, and the interactive login (`start` returns the
 * authorization URL; the browser comes back to the callback route, which calls `complete`).
 * A login in progress lives in memory only: a restarted gateway has none, and `login` starts over.
 */
export class RemoteLogins {
  private readonly servers = new Map<string, OAuthServer>();
  private readonly providers = new Map<string, RemoteOAuthProvider>();
  /** Logins waiting for the browser, by their OAuth `state`. */
  private readonly pending = new Map<string, Pending>();
  /** The last login's outcome, by (server, principal). */
  private readonly outcomes = new Map<string, LoginStatus>();
  private readonly loggedInListeners = new Set<(serverId: string, principal: string) => void>();
  private readonly now: () => number;

  constructor(private readonly options: RemoteLoginsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adds (or replaces, on a config change) a server with `auth: oauth`. */
  register(server: OAuthServer): void {
    this.servers.set(server.id, server);
    for (const key of [...this.providers.keys()]) {
      if (key.startsWith(`${server.id}\0`)) this.providers.delete(key);
    }
  }

  /**
   * Tells `listener` of each login that completes: the server and the principal ("" for shared
   * credentials), once its tokens are stored. Returns its removal.
   */
  onLoggedIn(listener: (serverId: string, principal: string) => void): () => void {
    this.loggedInListeners.add(listener);
    return () => this.loggedInListeners.delete(listener);
  }

  /** Whether `serverId` is a remote server with OAuth. */
  has(serverId: string): boolean {
    return this.servers.has(serverId);
  }

  /** Whether each principal logs in to `serverId` on its own (`credentials: per-user`). */
  perUser(serverId: string): boolean {
    return this.servers.get(serverId)?.oauth.credentials === 'per-user';
  }

  /**
   * The provider for `serverId`'s calls as `principal` ("" for shared credentials): the same one
   * every time, so its refresh is single-flight.
   */
  provider(serverId: string, principal = ''): RemoteOAuthProvider {
    const key = `${serverId}\0${principal}`;
    let provider = this.providers.get(key);
    if (provider === undefined) {
      provider = this.newProvider(this.server(serverId), principal, undefined);
      this.providers.set(key, provider);
    }
    return provider;
  }

  /**
   * Starts a login: discovery (from the server's 401, fresh rather than cached), the client's
   * registration when there is none, and the authorization URL with PKCE S256, `state` and
   * `resource`. Rejects with `login_failed` saying what went wrong.
   */
  async start(serverId: string, principal = ''): Promise<{ authorizationUrl: string }> {
    const server = this.server(serverId);
    this.prune();
    const attempt: LoginAttempt = { state: randomBytes(24).toString('base64url') };
    const provider = this.newProvider(server, principal, attempt);
    provider.invalidateCredentials('discovery');
    try {
      const resourceMetadataUrl = await challengeOf(server);
      const result = await auth(provider, {
        serverUrl: server.url,
        resourceMetadataUrl,
        scope: server.oauth.scope,
        fetchFn: server.fetchFn,
        forceReauthorization: true
      });
      if (result !== 'REDIRECT' || attempt.authorizationUrl === undefined) {
        throw new Error('the authorization server issued tokens without a browser login');
      }
    } catch (error) {
      throw this.failed(server.id, principal, `cannot start the login: ${describeError(error)}`, error);
    }
    // One login at a time per server and principal: a newer one replaces the one before.
    for (const [state, login] of this.pending) {
      if (login.server.id === server.id && login.principal === principal) this.pending.delete(state);
    }
    this.pending.set(attempt.state, { server, principal, attempt, startedAt: this.now() });
    const authorizationUrl = attempt.authorizationUrl.href;
    this.options.log?.info({ server: server.id, principal }, 'OAuth login to a remote server started');
    this.outcomes.set(keyOf(server.id, principal), {
      state: 'pending',
      authorizationUrl,
      startedAt: new Date(this.now()).toISOString()
    });
    return { authorizationUrl };
  }

  /**
   * Finishes the login the callback's `state` names: checks `iss` (RFC 9207) against the issuer
   * recorded when it started, then redeems the code. Resolves with the server and principal, or
   * rejects with `login_failed` (an unknown or expired state, a refusal, a wrong `iss`).
   */
  async complete(params: URLSearchParams): Promise<{ serverId: string; principal: string }> {
    this.prune();
    const state = params.get('state') ?? '';
    const login = this.pending.get(state);
    if (login === undefined) {
      throw new GatewayError(
        'login_failed',
        'this login is unknown or has expired (it must finish within 10 minutes, in the gateway that started it): run `mcp-gateway login SERVER` again'
      );
    }
    this.pending.delete(state);
    const { server, principal, attempt } = login;
    const code = params.get('code');
    const iss = params.get('iss') ?? undefined;
    const provider = this.newProvider(server, principal, attempt);
    try {
      if (code === null) {
        // The refusal's text is read only once `iss` shows it comes from the server asked (RFC 9207).
        const metadata = provider.discoveryState()?.authorizationServerMetadata;
        validateAuthorizationResponseIssuer({
          iss,
          expectedIssuer: metadata?.issuer,
          issParameterSupported: metadata?.authorization_response_iss_parameter_supported === true
        });
        throw new Error(
          `the authorization server refused: ${params.get('error') ?? 'no code in its answer'}`
        );
      }
      await auth(provider, { serverUrl: server.url, authorizationCode: code, iss, fetchFn: server.fetchFn });
    } catch (error) {
      throw this.failed(server.id, principal, `the login failed: ${describeError(error)}`, error);
    }
    this.outcomes.set(keyOf(server.id, principal), { state: 'done', at: new Date(this.now()).toISOString() });
    this.options.log?.info({ server: server.id, principal }, 'OAuth login to a remote server completed');
    for (const listener of this.loggedInListeners) listener(server.id, principal);
    return { serverId: server.id, principal };
  }

  /** The last login's outcome for `serverId` and `principal`, and whether tokens are stored. */
  status(serverId: string, principal = ''): { loggedIn: boolean; login: LoginStatus } {
    this.server(serverId);
    this.prune();
    let loggedIn: boolean;
    try {
      loggedIn = this.options.store.read({ serverId, principal }, 'tokens') !== undefined;
    } catch {
      loggedIn = false;
    }
    return { loggedIn, login: this.outcomes.get(keyOf(serverId, principal)) ?? { state: 'none' } };
  }

  /** Forgets `principal`'s tokens for `serverId` (and a login in progress); true when there were any. */
  logout(serverId: string, principal = ''): boolean {
    this.server(serverId);
    for (const [state, login] of this.pending) {
      if (login.server.id === serverId && login.principal === principal) this.pending.delete(state);
    }
    this.outcomes.delete(keyOf(serverId, principal));
    return this.options.store.forget({ serverId, principal }, ['tokens']);
  }

  private server(serverId: string): OAuthServer {
    const server = this.servers.get(serverId);
    if (server === undefined) {
      throw new GatewayError(
        'login_failed',
        `server "${serverId}" is not a remote server with \`auth: oauth\` in this gateway's config: ` +
          'only those take a login',
        { serverId }
      );
    }
    return server;
  }

  private newProvider(server: OAuthServer, principal: string, login: LoginAttempt | undefined) {
    return new RemoteOAuthProvider({
      serverId: server.id,
      principal,
      serverUrl: server.url,
      oauth: server.oauth,
      client: this.options.client,
      store: this.options.store,
      ...(login === undefined ? {} : { login }),
      ...(server.fetchFn === undefined ? {} : { fetchFn: server.fetchFn }),
      now: this.now
    });
  }

  private failed(serverId: string, principal: string, message: string, cause: unknown): GatewayError {
    const full = `OAuth login to server "${serverId}"${principal ? ` for ${principal}` : ''}: ${message}`;
    this.options.log?.warn(
      { server: serverId, principal, err: full },
      'OAuth login to a remote server failed'
    );
    this.outcomes.set(keyOf(serverId, principal), {
      state: 'failed',
      error: full,
      at: new Date(this.now()).toISOString()
    });
    return new GatewayError('login_failed', full, { cause, serverId });
  }

  private prune(): void {
    for (const [state, login] of this.pending) {
      if (this.now() - login.startedAt <= LOGIN_TTL_MS) continue;
      this.pending.delete(state);
      const key = keyOf(login.server.id, login.principal);
      if (this.outcomes.get(key)?.state === 'pending') {
        this.outcomes.set(key, {
          state: 'failed',
          error: 'the browser did not come back within 10 minutes',
          at: new Date(this.now()).toISOString()
        });
      }
    }
  }
}

function keyOf(serverId: string, principal: string): string {
  return `${serverId}\0${principal}`;
}

/**
 * The `resource_metadata` URL of the server's 401 challenge to a request without a token, when
 * it sends one (RFC 9728 §5.1); otherwise discovery falls back to the well-known URL.
 */
async function challengeOf(server: OAuthServer): Promise<URL | undefined> {
  const fetchFn = server.fetchFn ?? fetch;
  const response = await fetchFn(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'mcp-gateway', version: '0' }
      }
    }),
    signal: AbortSignal.timeout(10_000)
  });
  await response.body?.cancel();
  return response.status === 401 ? extractWWWAuthenticateParams(response).resourceMetadataUrl : undefined;
}
