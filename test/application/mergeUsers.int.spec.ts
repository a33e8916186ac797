import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  profile,
  type CommandSpec,
} from '../support/commandSpec.js';

describe('merge-users', () => {
  let spec: CommandSpec;
  let survivor: string;
  let merged: string;

  const via = async (provider: string, subject: string) =>
    (
      await spec.given({
        name: 'register-via-provider',
        input: { provider, subject, profile: profile() },
      })
    ).userId;
  const merge = (survivorId: string, mergedId: string) =>
    ({ name: 'merge-users', input: { survivorId, mergedId } }) as const;

  beforeEach(async () => {
    spec = await commandSpec();
    survivor = await via('google', 'g1');
    merged = await via('github', '1');
  });
  afterEach(() => spec.close());

  it('closes the merged user, moves each identity, then records them on the survivor', async () => {
    const outcome = await spec.when(merge(survivor, merged));
    const identity = { provider: 'github', subject: '1' };
    expect(outcome.appended).toEqual([
      {
        stream: streams.user(merged),
        type: 'UserMergedInto',
        data: { survivorId: survivor, identities: [identity] },
      },
      {
        stream: streams.identity(identity),
        type: 'IdentityClaimed',
        data: { ...identity, userId: survivor, purpose: 'merge', previousUserId: merged },
      },
      {
        stream: streams.user(survivor),
        type: 'UsersMerged',
        data: {
          mergedId: merged,
          identities: [
            {
              ...identity,
              claimRevision: 1,
              displayName: null,
              email: null,
              emailVerified: false,
            },
          ],
        },
      },
    ]);
    expect(outcome.result).toMatchObject({ userId: survivor, created: false });
  });

  it('does nothing when the merge is done already', async () => {
    await spec.given(merge(survivor, merged));
    const outcome = await spec.when(merge(survivor, merged));
    expect(outcome.appended).toEqual([]);
  });

  it('refuses merging a user into itself', async () => {
    expectRefusal(await spec.when(merge(survivor, survivor)), 'validation-failed');
  });

  it('refuses unknown, merged and erased users', async () => {
    const ghost = '00000000-0000-4000-8000-00000000dead';
    expectRefusal(await spec.when(merge(survivor, ghost)), 'user-not-found');
    expectRefusal(await spec.when(merge(ghost, merged)), 'user-not-found');
    const third = (
      await spec.given({
        name: 'register-local-user',
        input: { username: 'third', password: 'correct horse battery' },
      })
    ).userId;
    await spec.given(merge(third, merged));
    expectRefusal(await spec.when(merge(survivor, merged)), 'user-merged');
    await spec.given({ name: 'erase-user', input: { userId: third } });
    expectRefusal(await spec.when(merge(third, survivor)), 'user-erased');
  });

  it('refuses when the survivor has no room for a provider of the merged user', async () => {
    const other = await via('github', '2');
    expectRefusal(await spec.when(merge(other, merged)), 'provider-already-linked');
  });

  it("applies If-Match to the survivor's stream", async () => {
    expectRefusal(
      await spec.when(merge(survivor, merged), { expectedRevision: 0 }),
      'revision-mismatch',
    );
  });
});
