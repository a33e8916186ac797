import type { z } from 'zod';
import { AccountLinkingError } from '../domain/errors.js';

/**
 * Parses with a zod schema, or throws `validation-failed` listing every problem. `where`
 * names the value itself (a path parameter, a query): the body by default.
 */
export const validate = <S extends z.ZodType>(
  schema: S,
  value: unknown,
  where = '(body)',
): z.output<S> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({
    path: clip(issue.path.map(String).join('.') || where),
    message: clip(issue.message),
  }));
  throw new AccountLinkingError('validation-failed', 'the request is not valid', {
    errors:
      errors.length > MAX_ERRORS
        ? [
            ...errors.slice(0, MAX_ERRORS),
            { path: where, message: `and ${errors.length - MAX_ERRORS} more problems` },
          ]
        : errors,
  });
};

// An answer names the problems, not the whole request back: a body of ten thousand unknown
// fields is refused in a few lines.
const MAX_ERRORS = 20;
const MAX_TEXT = 200;
const clip = (text: string): string =>
  [...text].length > MAX_TEXT ? `${[...text].slice(0, MAX_TEXT - 1).join('')}…` : text;
