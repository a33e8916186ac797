import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/application/passwords.js';
import { streams } from '../../src/domain/values.js';
import { commandSpec, expectRefusal, type CommandSpec } from '../support/commandSpec.js';

const register = (username: string, password = 'correct horse battery', email?: string) =>
  ({
    name: 'register-local-user',
    input: { username, password, ...(email ? { email } : {}) },
  }) as const;

describe('register-local-user', () => {
  let spec: CommandSpec;
  beforeEach(async () => (spec = await commandSpec()));
  afterEach(() => spec.close());

  it('claims the username, then creates the user with a hashed password', async () => {
    const outcome = await spec.when(
      register('Ann', 'correct horse battery', 'ann@example.com'),
    );
    const userId = outcome.result!.userId;
    expect(outcome.appended.map((e) => [e.stream, e.type])).toEqual([
      [streams.username('ann'), 'UsernameClaimed'],
      [streams.user(userId), 'UserRegistered'],
      [streams.user(userId), 'PasswordSet'],
    ]);
    expect(outcome.appended[1]!.data).toMatchObject({
      username: 'Ann',
      email: 'ann@example.com',
      emailVerified: false,
    });
    const hash = outcome.appended[2]!.data.passwordHash as string;
    expect(hash).toMatch(/^scrypt\$/);
    await expect(verifyPassword('correct horse battery', hash)).resolves.toBe(true);
    await expect(verifyPassword('wrong horse battery', hash)).resolves.toBe(false);
    expect(JSON.stringify(outcome.appended)).not.toContain('correct horse battery');
  });

  it('refuses a username taken in another letter case', async () => {
    await spec.given(register('ann'));
    expectRefusal(await spec.when(register('ANN')), 'username-taken');
  });

  it('frees the username of an erased user', async () => {
    const ann = await spec.given(register('ann'));
    await spec.given({ name: 'erase-user', input: { userId: ann.userId } });
    const outcome = await spec.when(register('ann'));
    expect(outcome.result!.created).toBe(true);
  });
});
