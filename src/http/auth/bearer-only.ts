import type { RequestHandler } from 'express';

/** What a client without a token is told in `auth.mode: token`, and the fix. */
export const BEARER_REQUIRED =
  'a bearer token is required: this gateway takes tokens made with `mcp-gateway token create`, ' +
  'sent as the header "Authorization: Bearer <token>" (Claude Code: claude mcp add --transport http ' +
  '<name> <url> --header "Authorization: Bearer <token>"); it is no OAuth server';

/** Paths an OAuth client probes after a 401: metadata discovery and the default endpoints. */
const OAUTH_PATHS =
  /^\/(?:\.well-known\/(?:oauth-protected-resource|oauth-authorization-server|openid-configuration)(?:\/.*)?|register|authorize|token)$/;

/**
 * For `auth.mode: token`: the OAuth discovery and registration paths answer 404 with an OAuth error
 * body saying a bearer token is needed. MCP clients that try OAuth after a 401 (Claude Code) show
 * the registration's body, so the person sees the fix instead of a bare "HTTP 404".
 */
export const bearerOnly: RequestHandler = (req, res, next) => {
  if (!OAUTH_PATHS.test(req.path)) {
    next();
    return;
  }
  res.status(404).json({ error: 'invalid_request', error_description: BEARER_REQUIRED });
};
