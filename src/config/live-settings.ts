import type { ServerSpec } from './server-spec.js';

/**
 * The settings of a server that the gateway applies itself, not the server: a reload that changes
 * only these updates the running server in place (its connection, calls and queue kept) rather
 * than replacing it.
 */
export const LIVE_SETTINGS = [
  'description',
  'idleTimeoutMs',
  'callTimeoutMs',
  'maxConcurrency',
  'maxQueue'
] as const;

export type LiveSetting = (typeof LIVE_SETTINGS)[number];

/**
 * The live settings in which `next` differs from `current` (empty when none does), or undefined
 * when anything else differs too, or the server has `credentials: per-user` (its principals'
 * upstreams are made from the spec it had: it is replaced).
 */
export function liveChanges(current: ServerSpec, next: ServerSpec): LiveSetting[] | undefined {
  if (current.fingerprint !== next.fingerprint || isPerUser(current) || isPerUser(next)) return undefined;
  if (withoutLiveSettings(current) !== withoutLiveSettings(next)) return undefined;
  return LIVE_SETTINGS.filter(setting => current[setting] !== next[setting]);
}

function isPerUser(spec: ServerSpec): boolean {
  return spec.kind === 'remote' && spec.remote.oauth?.credentials === 'per-user';
}

/** `spec` as comparable text, its live settings left out (a URL as its href). */
function withoutLiveSettings(spec: ServerSpec): string {
  const live = new Set<string>(LIVE_SETTINGS);
  return JSON.stringify(Object.fromEntries(Object.entries(spec).filter(([key]) => !live.has(key))));
}
