import type { z } from 'zod';
import { HttpError } from '../http-error.js';

/** Parses `value` with `schema`, or throws a 400 naming the first bad parameter and why. */
export function parseParams<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name =
    issue.code === 'unrecognized_keys'
      ? issue.keys.join(', ')
      : issue.path.length > 0
        ? issue.path.map(String).join('.')
        : where;
  throw new HttpError(400, -32602, `invalid ${where} parameter "${name}": ${issue.message}`);
}
