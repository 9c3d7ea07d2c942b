import { CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import type { IncomingMessage } from 'node:http';
import type { ClientIdentity } from '../store/activity-log.js';

/**
 * The client identity a 2026-era request carries in its `_meta` envelope
 * (`io.modelcontextprotocol/clientInfo`, `.../protocolVersion`), plus what HTTP tells.
 */
export function identityOf(
  meta: Record<string, unknown>,
  req?: IncomingMessage,
  principal?: string
): ClientIdentity {
  const info = meta[CLIENT_INFO_META_KEY] as { name?: unknown; version?: unknown } | undefined;
  const protocolVersion = meta[PROTOCOL_VERSION_META_KEY];
  return {
    name: typeof info?.name === 'string' ? info.name : undefined,
    version: typeof info?.version === 'string' ? info.version : undefined,
    protocolVersion: typeof protocolVersion === 'string' ? protocolVersion : undefined,
    userAgent: req?.headers['user-agent'],
    remoteAddress: req?.socket.remoteAddress,
    principal
  };
}

/** The `_meta` of a parsed JSON-RPC request body, if it has one. */
export function metaOfBody(body: unknown): Record<string, unknown> | undefined {
  const params = (body as { params?: { _meta?: unknown } } | null)?.params;
  const meta = params?._meta;
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)
    : undefined;
}
