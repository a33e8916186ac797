import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { AccountLinkingError } from '../../src/domain/errors.js';
import { validate } from '../../src/http/validation.js';

const refusal = (run: () => unknown): AccountLinkingError => {
  try {
    run();
  } catch (error) {
    if (error instanceof AccountLinkingError) return error;
    throw error;
  }
  throw new Error('not refused');
};

describe('validation answers', () => {
  it('list twenty problems, then how many more', () => {
    const error = refusal(() =>
      validate(
        z.array(z.string()),
        Array.from({ length: 50 }, (_, i) => i),
      ),
    );
    expect(error.code).toBe('validation-failed');
    expect(error.errors).toHaveLength(21);
    expect(error.errors![0]).toMatchObject({ path: '0' });
    expect(error.errors![20]).toEqual({
      path: '(body)',
      message: 'and 30 more problems',
    });
  });

  it('cut a long message to 200 characters', () => {
    const error = refusal(() =>
      validate(z.object({}).strict(), { ['x'.repeat(1000)]: 1 }),
    );
    const [only] = error.errors!;
    expect([...only!.message]).toHaveLength(200);
    expect(only!.message.endsWith('…')).toBe(true);
  });
});
