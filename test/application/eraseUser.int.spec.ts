import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  profile,
  type CommandSpec,
} from '../support/commandSpec.js';

describe('erase-user', () => {
  let spec: CommandSpec;
  beforeEach(async () => (spec = await commandSpec()));
  afterEach(() => spec.close());

  it('closes the user, then releases its identities and its username', async () => {
    const ann = (
      await spec.given({
        name: 'register-local-user',
        input: { username: 'ann', password: 'correct horse battery' },
      })
    ).userId;
    await spec.given({
      name: 'link-provider',
      input: { userId: ann, provider: 'github', subject: '1', profile: profile() },
    });
    const outcome = await spec.when({ name: 'erase-user', input: { userId: ann } });
    const identity = { provider: 'github', subject: '1' };
    expect(outcome.appended).toEqual([
      {
        stream: streams.user(ann),
        type: 'UserErased',
        data: { identities: [identity], usernameStream: streams.username('ann') },
      },
      {
        stream: streams.username('ann'),
        type: 'UsernameReleased',
        data: { userId: ann, reason: 'erased' },
      },
      {
        stream: streams.identity(identity),
        type: 'IdentityReleased',
        data: { ...identity, userId: ann, reason: 'erased' },
      },
    ]);
  });

  it('does nothing when the user is erased already', async () => {
    const ann = (
      await spec.given({
        name: 'register-via-provider',
        input: { provider: 'github', subject: '1', profile: profile() },
      })
    ).userId;
    await spec.given({ name: 'erase-user', input: { userId: ann } });
    const outcome = await spec.when({ name: 'erase-user', input: { userId: ann } });
    expect(outcome.appended).toEqual([]);
  });

  it('refuses unknown and merged users', async () => {
    expectRefusal(
      await spec.when({
        name: 'erase-user',
        input: { userId: '00000000-0000-4000-8000-00000000dead' },
      }),
      'user-not-found',
    );
    const a = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '1', profile: profile() },
    });
    const b = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'google', subject: '2', profile: profile() },
    });
    await spec.given({
      name: 'merge-users',
      input: { survivorId: a.userId, mergedId: b.userId },
    });
    expectRefusal(
      await spec.when({ name: 'erase-user', input: { userId: b.userId } }),
      'user-merged',
    );
  });

  it('frees the identity for someone else', async () => {
    const ann = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '1', profile: profile() },
    });
    await spec.given({ name: 'erase-user', input: { userId: ann.userId } });
    const next = await spec.when({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '1', profile: profile() },
    });
    expect(next.result!.created).toBe(true);
    expect(next.result!.userId).not.toBe(ann.userId);
  });
});
