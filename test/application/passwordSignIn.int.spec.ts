import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { signInWithPassword } from '../../src/application/passwordSignIn.js';
import { commandSpec, type CommandSpec } from '../support/commandSpec.js';

// Every check of a password, counted (the real one still runs).
const checks = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/application/passwords.js', async (importOriginal) => {
  const original =
    await importOriginal<typeof import('../../src/application/passwords.js')>();
  return {
    ...original,
    verifyPassword: async (password: string, stored: string) => {
      checks.count += 1;
      return original.verifyPassword(password, stored);
    },
  };
});

describe('password sign-in', () => {
  let spec: CommandSpec;
  beforeEach(async () => {
    spec = await commandSpec();
    checks.count = 0;
  });
  afterEach(() => spec.close());

  // Answering a refusal without hashing would tell, by its speed, which usernames exist.
  it('checks a password as long for a username that does not exist as for one that does', async () => {
    await spec.given({
      name: 'register-local-user',
      input: { username: 'kim', password: 'correct horse battery' },
    });
    const cases: [string, string, string][] = [
      ['kim', 'wrong password here', 'wrong-password'],
      ['nobody', 'wrong password here', 'unknown'],
    ];
    for (const [username, password, reason] of cases) {
      checks.count = 0;
      const result = await signInWithPassword(spec.services, username, password);
      expect(result).toEqual({ ok: false, reason });
      expect(checks.count).toBe(1);
    }
    checks.count = 0;
    expect(
      await signInWithPassword(spec.services, 'kim', 'correct horse battery'),
    ).toEqual({ ok: true, userId: expect.any(String) });
    expect(checks.count).toBe(1);
  });
});
