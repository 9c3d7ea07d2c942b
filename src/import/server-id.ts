import { SERVER_ID_PATTERN } from '../config/schema.js';

const MAX_LENGTH = 32;

/**
 * A valid server id (1-32 of [a-z0-9-], starting with a letter or digit) for a client's server
 * name, not in `taken`: lower-cased, accents dropped, other characters turned into `-`, cut to
 * 32, and suffixed `-2`, `-3`… when the result is taken. A name that is already valid and free
 * comes back unchanged.
 */
export function toServerId(name: string, taken: ReadonlySet<string>): string {
  const base =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, MAX_LENGTH)
      .replace(/-+$/, '') || 'server';
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const id = `${base.slice(0, MAX_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!taken.has(id) && SERVER_ID_PATTERN.test(id)) return id;
  }
}
