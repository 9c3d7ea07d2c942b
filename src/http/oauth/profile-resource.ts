import { PROFILE_NAME_PATTERN } from '../../config/schema.js';

/**
 * What the resource indicator `indicator` names, against the gateway's MCP resource `root`
 * (`${publicUrl}/mcp`): `{ profile: undefined }` for the root itself, `{ profile }` for a profile's
 * URL (`${root}/<profile>`), undefined for anything else. A token issued for a profile's URL is bound
 * to that profile: the simplest sound binding, as the client asked for exactly that URL.
 *
 * The 2024-11-05 transport's URLs (`${publicUrl}/sse`, `/sse/<profile>`) name the same resources:
 * a client of that transport checks that the resource it is told about is the URL it was given,
 * so `/sse` has metadata of its own, and a token for it serves `/mcp` as well, and the other way.
 */
export function resourceTarget(root: string, indicator: string): { profile: string | undefined } | undefined {
  const sseRoot = `${root.slice(0, root.lastIndexOf('/'))}/sse`;
  for (const base of [root, sseRoot]) {
    if (indicator === base) return { profile: undefined };
    if (!indicator.startsWith(`${base}/`)) continue;
    const profile = indicator.slice(base.length + 1);
    return PROFILE_NAME_PATTERN.test(profile) ? { profile } : undefined;
  }
  return undefined;
}
