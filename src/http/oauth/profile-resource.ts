import { PROFILE_NAME_PATTERN } from '../../config/schema.js';

/**
 * What the resource indicator `indicator` names, against the gateway's MCP resource `root`
 * (`${publicUrl}/mcp`): `{ profile: undefined }` for the root itself, `{ profile }` for a profile's
 * URL (`${root}/<profile>`), undefined for anything else. A token issued for a profile's URL is bound
 * to that profile: the simplest sound binding, as the client asked for exactly that URL.
 */
export function resourceTarget(root: string, indicator: string): { profile: string | undefined } | undefined {
  if (indicator === root) return { profile: undefined };
  if (!indicator.startsWith(`${root}/`)) return undefined;
  const profile = indicator.slice(root.length + 1);
  return PROFILE_NAME_PATTERN.test(profile) ? { profile } : undefined;
}
