import { globToRegExp } from '../catalog/glob.js';

/**
 * Who is calling. Every request to /mcp and /api has one: a token's or OAuth client's identity
 * when authentication is on, the remote address when it is off.
 */
export interface Principal {
  /** Stable and unique: `token:<name>`, `oauth:<client id>`, `oidc:<subject>`, `ip:<address>`, `dashboard:admin` (the dashboard's admin login). */
  readonly id: string;
  readonly kind: 'token' | 'oauth' | 'oidc' | 'anonymous' | 'dashboard';
  /** May use /api and /metrics. */
  readonly admin: boolean;
  /** When set, only these servers' tools are visible and callable. */
  readonly servers?: readonly string[] | undefined;
  /** When set, only exposed tool names matching one of these globs are visible and callable. */
  readonly tools?: readonly string[] | undefined;
  /**
   * When set, the principal is bound to these profiles: it may use `/mcp/<profile>` (and
   * `/sse/<profile>`) of these only, and not the root `/mcp`.
   */
  readonly profiles?: readonly string[] | undefined;
}

/**
 * Why `principal` may not use `profile` (undefined: the root `/mcp`), or undefined when it may.
 * A principal bound to profiles uses only those; any other uses everything.
 */
export function profileRefusal(
  principal: Principal | undefined,
  profile: string | undefined
): string | undefined {
  const bound = principal?.profiles;
  if (bound === undefined || (profile !== undefined && bound.includes(profile))) return undefined;
  const where = profile === undefined ? 'the root /mcp' : `profile ${profile}`;
  const urls = bound.map(name => `/mcp/${name}`).join(', ');
  return `Forbidden: ${principal!.id} is bound to profile${bound.length === 1 ? '' : 's'} ${bound.join(', ')} and may not use ${where}; connect to ${urls}`;
}

/** The key under which a principal travels in the SDK's `AuthInfo.extra`. */
export const PRINCIPAL_KEY = 'mcpGatewayPrincipal';

/** A predicate over (server id, exposed tool name): what the principal may see and call. */
export function scopeOf(principal: Principal | undefined): (server: string, tool: string) => boolean {
  if (!principal || (principal.servers === undefined && principal.tools === undefined)) return () => true;
  const servers = principal.servers === undefined ? undefined : new Set(principal.servers);
  const tools = principal.tools?.map(globToRegExp);
  return (server, tool) =>
    (servers === undefined || servers.has(server)) &&
    (tools === undefined || tools.some(glob => glob.test(tool)));
}

/** The principal the HTTP layer attached to a request's SDK `AuthInfo`, if any. */
export function principalOfAuth(
  auth: { extra?: Record<string, unknown> } | undefined
): Principal | undefined {
  return auth?.extra?.[PRINCIPAL_KEY] as Principal | undefined;
}
