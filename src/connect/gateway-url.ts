import type { ConfigFile } from '../config/schema.js';

/**
 * The URL of the gateway's MCP endpoint as a client on this machine reaches it: `publicUrl` when
 * the config sets one, else the listen address (a wildcard address becomes loopback), with the
 * port from the flags or environment first, then the file, then 8000.
 */
export function gatewayUrl(
  gateway: Pick<ConfigFile['gateway'], 'host' | 'port' | 'publicUrl'>,
  overrides: { host?: string | undefined; port?: number | undefined }
): string {
  if (gateway.publicUrl !== undefined) return `${gateway.publicUrl.replace(/\/+$/, '')}/mcp`;
  const listen = overrides.host ?? gateway.host ?? '127.0.0.1';
  const host = listen === '0.0.0.0' || listen === '::' || listen === '[::]' ? '127.0.0.1' : listen;
  const port = overrides.port ?? gateway.port ?? 8000;
  if (port === 0) {
    throw new RangeError('the port is 0 (a free port is picked at start): give the real one with --port');
  }
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}/mcp`;
}
