import { isLoopback } from './loopback.js';

/** The address `serve` listens on: the flag or environment's, else the file's `gateway.host`, else loopback. */
export function listenHost(
  settings: { readonly host?: string | undefined },
  gateway: { readonly host?: string | undefined }
): string {
  return settings.host ?? gateway.host ?? '127.0.0.1';
}

/**
 * Why `serve` refuses to listen this way, or undefined. The one check `serve` and `validate` both
 * make: without authentication, only loopback, unless told that something in front authenticates.
 */
export function exposureProblem(options: {
  readonly host: string;
  readonly mode: 'none' | 'token' | 'oauth' | 'oidc';
  readonly allowUnauthenticated: boolean;
}): string | undefined {
  if (options.mode !== 'none' || isLoopback(options.host) || options.allowUnauthenticated) return undefined;
  return (
    `refusing to serve ${options.host} without authentication: anyone who can reach it could run every tool. ` +
    'Set gateway.auth.mode (token, oauth or oidc), bind to 127.0.0.1, or pass --allow-unauthenticated ' +
    'if something in front of the gateway authenticates (and only it can reach the port).'
  );
}
