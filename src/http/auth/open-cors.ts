import type { RequestHandler } from 'express';

/**
 * CORS for a public, credential-free endpoint (protected resource metadata, client registration):
 * any origin may read the answer, and a preflight `OPTIONS` is answered here with 204. A client
 * that runs in a browser (the MCP Inspector's page) does OAuth discovery and registration from
 * there, and the MCP SDK sends `MCP-Protocol-Version` with it, which needs a preflight. The host
 * and origin guard in front still refuses origins the gateway does not allow.
 */
export function openCors(methods: string): RequestHandler {
  return (req, res, next) => {
    res.set('access-control-allow-origin', '*');
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    res
      .status(204)
      .set({
        'access-control-allow-methods': methods,
        'access-control-allow-headers': 'content-type, mcp-protocol-version',
        'access-control-max-age': '3600'
      })
      .end();
  };
}
