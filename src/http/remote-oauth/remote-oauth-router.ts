import { Router } from 'express';
import type { GatewayClient } from '../../connectors/oauth/remote-oauth-provider.js';
import { clientMetadataOf } from '../../connectors/oauth/remote-oauth-provider.js';
import type { RemoteLogins } from '../../connectors/oauth/remote-logins.js';
import { describeError } from '../../errors.js';

/** Where the browser comes back after approving the gateway at a remote server's authorization server. */
export const CALLBACK_PATH = '/remote-oauth/callback';
/** The gateway's Client ID Metadata Document; its URL is the client_id. */
export const CLIENT_METADATA_PATH = '/remote-oauth/client.json';

/**
 * The gateway as OAuth client, seen from `origin`: the callback there, and the metadata document
 * when the origin is https (`publicUrl`; authorization servers fetch documents over https only).
 * `origin` may be a function when it is known only once the gateway listens (no `publicUrl`, port 0).
 * Paths are outside `/oauth/`, which the gateway's own OAuth server answers in `auth.mode: oauth`.
 */
export function gatewayClientAt(origin: string | (() => string)): GatewayClient {
  const base = () => (typeof origin === 'string' ? origin : origin()).replace(/\/+$/, '');
  return {
    get redirectUrl() {
      return `${base()}${CALLBACK_PATH}`;
    },
    get clientMetadataUrl() {
      return base().startsWith('https://') ? `${base()}${CLIENT_METADATA_PATH}` : undefined;
    }
  };
}

/**
 * The public routes of the gateway's logins to remote servers, mounted before authentication: the
 * browser carries no gateway token, and what it brings is checked against a login in progress
 * (its `state`, then `iss` and the PKCE verifier when the code is redeemed).
 */
export function createRemoteOAuthRouter(logins: RemoteLogins, client: GatewayClient): Router {
  const router = Router();
  router.get(CALLBACK_PATH, async (req, res) => {
    const params = new URL(req.originalUrl, 'http://callback').searchParams;
    res.set('cache-control', 'no-store').set('referrer-policy', 'no-referrer');
    try {
      const { serverId } = await logins.complete(params);
      res
        .type('html')
        .send(
          page('Logged in', `The gateway is logged in to server “${serverId}”. You can close this window.`)
        );
    } catch (error) {
      res
        .status(400)
        .type('html')
        .send(page('Login failed', describeError(error)));
    }
  });
  if (client.clientMetadataUrl !== undefined) {
    const document = { client_id: client.clientMetadataUrl, ...clientMetadataOf(client) };
    router.get(CLIENT_METADATA_PATH, (_req, res) => {
      res.set('cache-control', 'public, max-age=3600').json(document);
    });
  }
  return router;
}

function page(title: string, text: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`);
}
