import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  profile,
  type CommandSpec,
} from '../support/commandSpec.js';

const unlink = (userId: string, subject: string, provider = 'github') =>
  ({ name: 'unlink-provider', input: { userId, provider, subject } }) as const;

describe('unlink-provider', () => {
  let spec: CommandSpec;
  beforeEach(async () => (spec = await commandSpec()));
  afterEach(() => spec.close());

  const localUserWithGithub = async (username: string, subject: string) => {
    const user = await spec.given({
      name: 'register-local-user',
      input: { username, password: 'correct horse battery' },
    });
    await spec.given({
      name: 'link-provider',
      input: { userId: user.userId, provider: 'github', subject, profile: profile() },
    });
    return user.userId;
  };

  it('records the unlink on the user, then releases the identity', async () => {
    const ann = await localUserWithGithub('ann', '7');
    const outcome = await spec.when(unlink(ann, '7'));
    const identity = { provider: 'github', subject: '7' };
    expect(outcome.appended).toEqual([
      {
        stream: streams.user(ann),
        type: 'ProviderUnlinked',
        data: { ...identity, claimRevision: 0 },
      },
      {
        stream: streams.identity(identity),
        type: 'IdentityReleased',
        data: { ...identity, userId: ann, reason: 'unlinked' },
      },
    ]);
  });

  it('does nothing when this user unlinked it already', async () => {
    const ann = await localUserWithGithub('ann', '7');
    await spec.given(unlink(ann, '7'));
    const outcome = await spec.when(unlink(ann, '7'));
    expect(outcome.appended).toEqual([]);
    expect(outcome.result!.events).toEqual([]);
  });

  it('refuses an identity the user never had', async () => {
    const ann = await localUserWithGithub('ann', '7');
    expectRefusal(await spec.when(unlink(ann, '8')), 'identity-not-linked');
  });

  it('refuses to remove the last sign-in method, counting only this user', async () => {
    const solo = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '1', profile: profile() },
    });
    await localUserWithGithub('rich', '2');
    const outcome = await spec.when(unlink(solo.userId, '1'));
    expectRefusal(outcome, 'last-sign-in-method');
  });

  it('refuses unknown users and stale revisions', async () => {
    const ann = await localUserWithGithub('ann', '7');
    expectRefusal(
      await spec.when(unlink('00000000-0000-4000-8000-00000000dead', '7')),
      'user-not-found',
    );
    expectRefusal(
      await spec.when(unlink(ann, '7'), { expectedRevision: 1 }),
      'revision-mismatch',
    );
  });
});
