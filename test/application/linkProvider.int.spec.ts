import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  profile,
  types,
  type CommandSpec,
} from '../support/commandSpec.js';

const link = (userId: string, subject: string, provider = 'github') =>
  ({
    name: 'link-provider',
    input: { userId, provider, subject, profile: profile('ann@example.com', true) },
  }) as const;

describe('link-provider', () => {
  let spec: CommandSpec;
  let ann: string;

  beforeEach(async () => {
    spec = await commandSpec();
    ann = (
      await spec.given({
        name: 'register-via-provider',
        input: { provider: 'google', subject: 'g1', profile: profile() },
      })
    ).userId;
  });
  afterEach(() => spec.close());

  it('claims the identity for the user, then records the link on the user', async () => {
    const outcome = await spec.when(link(ann, '77'));
    expect(outcome.appended).toEqual([
      {
        stream: streams.identity({ provider: 'github', subject: '77' }),
        type: 'IdentityClaimed',
        data: {
          provider: 'github',
          subject: '77',
          userId: ann,
          purpose: 'link',
          previousUserId: null,
        },
      },
      {
        stream: streams.user(ann),
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
    expect(outcome.result).toMatchObject({ userId: ann, created: false, revision: 2 });
  });

  it('does nothing when the identity is linked to this user already', async () => {
    await spec.given(link(ann, '77'));
    const outcome = await spec.when(link(ann, '77'));
    expect(outcome.appended).toEqual([]);
    expect(outcome.result).toMatchObject({ userId: ann, events: [], revision: 2 });
  });

  it('refuses an identity another user holds, naming the holder', async () => {
    const bob = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '77', profile: profile() },
    });
    const outcome = await spec.when(link(ann, '77'));
    expectRefusal(outcome, 'identity-already-linked');
    expect(outcome.error!.details).toEqual({ userId: bob.userId });
  });

  it('refuses a second identity of a provider, after the holder check', async () => {
    await spec.given(link(ann, '1'));
    expectRefusal(await spec.when(link(ann, '2')), 'provider-already-linked');
    await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '3', profile: profile() },
    });
    expectRefusal(await spec.when(link(ann, '3')), 'identity-already-linked');
  });

  it('refuses a user that does not exist', async () => {
    expectRefusal(
      await spec.when(link('00000000-0000-4000-8000-00000000dead', '1')),
      'user-not-found',
    );
  });

  it('refuses a merged or an erased user', async () => {
    const bob = (
      await spec.given({
        name: 'register-local-user',
        input: { username: 'bob', password: 'correct horse battery' },
      })
    ).userId;
    await spec.given({ name: 'merge-users', input: { survivorId: ann, mergedId: bob } });
    const merged = await spec.when(link(bob, '1'));
    expectRefusal(merged, 'user-merged');
    expect(merged.error!.details).toMatchObject({ mergedInto: ann });
    await spec.given({ name: 'erase-user', input: { userId: ann } });
    expectRefusal(await spec.when(link(ann, '1')), 'user-erased');
  });

  it('applies If-Match to the user stream', async () => {
    expectRefusal(
      await spec.when(link(ann, '1'), { expectedRevision: 0 }),
      'revision-mismatch',
    );
    const outcome = await spec.when(link(ann, '1'), { expectedRevision: 1 });
    expect(types(outcome)).toEqual(['IdentityClaimed', 'ProviderLinked']);
  });

  it('takes over a connection that was kept without a user', async () => {
    const identity = { provider: 'github', subject: '50' };
    await spec.givenEvents(streams.identity(identity), [
      {
        type: 'IdentityClaimed',
        data: { ...identity, userId: null, purpose: 'unowned', previousUserId: null },
      },
    ]);
    const outcome = await spec.when(link(ann, '50'));
    expect(outcome.appended[0]).toMatchObject({
      type: 'IdentityClaimed',
      data: { userId: ann, previousUserId: null },
    });
    expect(outcome.appended[1]).toMatchObject({
      type: 'ProviderLinked',
      data: { claimRevision: 1 },
    });
  });
});
