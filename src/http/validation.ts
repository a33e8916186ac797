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
  throw new AccountLinkingError('validation-failed', 'the request is not valid', {
    errors: parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || where,
      message: issue.message,
    })),
  });
};
