import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  profile,
  types,
  type CommandSpec,
} from '../support/commandSpec.js';

const register = (subject: string, email: string | null = null, verified = false) =>
  ({
    name: 'register-via-provider',
    input: { provider: 'github', subject, profile: profile(email, verified) },
  }) as const;

describe('register-via-provider', () => {
  let spec: CommandSpec;
  beforeEach(async () => (spec = await commandSpec()));
  afterEach(() => spec.close());

  it('claims the identity for a new user, then creates the user linked to it', async () => {
    const outcome = await spec.when(register('77', 'ann@example.com', true));
    const userId = outcome.result!.userId;
    expect(outcome.appended).toEqual([
      {
        stream: streams.identity({ provider: 'github', subject: '77' }),
        type: 'IdentityClaimed',
        data: {
          provider: 'github',
          subject: '77',
          userId,
          purpose: 'register',
          previousUserId: null,
        },
      },
      {
        stream: streams.user(userId),
        type: 'UserRegistered',
        data: {
          userId,
          method: 'provider',
          username: null,
          usernameStream: null,
          usernameClaimRevision: null,
          displayName: null,
          email: 'ann@example.com',
          emailVerified: true,
        },
      },
      {
        stream: streams.user(userId),
        type: 'ProviderLinked',
        data: {
          provider: 'github',
          subject: '77',
          claimRevision: 0,
          displayName: null,
          email: 'ann@example.com',
          emailVerified: true,
        },
      },
    ]);
    expect(outcome.result).toMatchObject({
      created: true,
      revision: 1,
      events: ['IdentityClaimed', 'UserRegistered', 'ProviderLinked'],
    });
  });

  it('refuses an identity another user holds, naming the holder', async () => {
    const holder = await spec.given(register('77'));
    const outcome = await spec.when(register('77'));
    expectRefusal(outcome, 'identity-already-linked');
    expect(outcome.error!.details).toEqual({ userId: holder.userId });
  });

  it('claims a released identity again at its current revision', async () => {
    const first = await spec.given({
      name: 'register-local-user',
      input: { username: 'ann', password: 'correct horse' },
    });
    await spec.given({
      name: 'link-provider',
      input: { userId: first.userId, provider: 'github', subject: '5', profile: {} },
    });
    await spec.given({
      name: 'unlink-provider',
      input: { userId: first.userId, provider: 'github', subject: '5' },
    });
    const outcome = await spec.when(register('5'));
    expect(outcome.result!.created).toBe(true);
    expect(outcome.appended[2]).toMatchObject({
      type: 'ProviderLinked',
      data: { claimRevision: 2 },
    });
  });

  describe('when the verified email belongs to an existing user', () => {
    it('refuses by default (EMAIL_MATCH=confirm), appending nothing', async () => {
      const owner = await spec.given(register('1', 'ann@example.com', true));
      const outcome = await spec.when({
        name: 'register-via-provider',
        input: {
          provider: 'google',
          subject: 'g1',
          profile: profile('Ann@Example.COM', true),
        },
      });
      expectRefusal(outcome, 'email-belongs-to-existing-user');
      expect(outcome.error!.details).toEqual({ userId: owner.userId });
    });

    it('creates a separate user when the new email is not verified', async () => {
      await spec.given(register('1', 'ann@example.com', true));
      const outcome = await spec.when(register('2', 'ann@example.com', false));
      expect(outcome.result!.created).toBe(true);
    });

    it('ignores the owner when the existing email is not verified', async () => {
      await spec.given(register('1', 'ann@example.com', false));
      const outcome = await spec.when(register('2', 'ann@example.com', true));
      expect(outcome.result!.created).toBe(true);
    });
  });

  it('links to the email owner instead with EMAIL_MATCH=link-verified', async () => {
    await spec.close();
    spec = await commandSpec({ policy: { emailMatch: 'link-verified' } });
    const owner = await spec.given({
      name: 'register-via-provider',
      input: {
        provider: 'google',
        subject: 'g1',
        profile: profile('ann@example.com', true),
      },
    });
    const outcome = await spec.when(register('9', 'ANN@example.com', true));
    expect(outcome.result).toMatchObject({ userId: owner.userId, created: false });
    expect(types(outcome)).toEqual(['IdentityClaimed', 'ProviderLinked']);
  });

  it('creates another user with EMAIL_MATCH=separate', async () => {
    await spec.close();
    spec = await commandSpec({ policy: { emailMatch: 'separate' } });
    const owner = await spec.given(register('1', 'ann@example.com', true));
    const outcome = await spec.when(register('2', 'ann@example.com', true));
    expect(outcome.result!.created).toBe(true);
    expect(outcome.result!.userId).not.toBe(owner.userId);
  });

  it('answers a repeated command (same command id) the same, appending nothing', async () => {
    const commandId = '3f0c1d2e-0000-4000-8000-000000000001';
    const first = await spec.when(register('77'), { commandId, idempotent: true });
    const again = await spec.when(register('77'), { commandId, idempotent: true });
    expect(again.appended).toEqual([]);
    expect(again.result).toEqual(first.result);
  });

  it('refuses with projection-lagging, writing nothing, when a read model left behind cannot tell who owns the email', async () => {
    await spec.given(register('ann', 'ann@example.com', true));
    // A read model apart from the log (MongoDB) that has not seen Ann yet and cannot
    // catch up in time (the instance that leads its projection died, say).
    Object.assign(spec.services, {
      readModel: {
        ...spec.readModel,
        readsCurrent: false,
        findUsersByEmail: async () => [],
      },
      projection: { ...spec.projection, waitFor: async () => false },
    });
    const outcome = await spec.when(register('bob', 'ann@example.com', true));
    expect(outcome.error?.code).toBe('projection-lagging');
    expect(outcome.appended).toEqual([]);
  });
});
