import type { z } from 'zod';
import { HttpError } from '../http-error.js';

/**
 * Parses `value` with `schema`, or throws a 400 naming the first bad parameter and why (a query
 * parameter given more than once is refused as such).
 */
export function parseParams<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // A query parameter given twice arrives as a list, which would fail as "expected number, received
  // NaN"; say what happened instead.
  const repeated =
    where === 'query' && value !== null && typeof value === 'object'
      ? Object.entries(value).find(([, given]) => Array.isArray(given))
      : undefined;
  if (repeated) {
    throw new HttpError(
      400,
      -32602,
      `invalid ${where} parameter "${repeated[0]}": given ${(repeated[1] as unknown[]).length} times; give it once`
    );
  }
  const issue = parsed.error.issues[0]!;
  const name =
    issue.code === 'unrecognized_keys'
      ? issue.keys.join(', ')
      : issue.path.length > 0
        ? issue.path.map(String).join('.')
        : where;
  throw new HttpError(400, -32602, `invalid ${where} parameter "${name}": ${issue.message}`);
}
