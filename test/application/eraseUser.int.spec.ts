import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/audit/verify.js';
import { streams } from '../../src/domain/values.js';
import {
  commandSpec,
  expectRefusal,
  memoryDataKeys,
  profile,
  type CommandSpec,
  type Outcome,
} from '../support/commandSpec.js';

describe('erase-user', () => {
  let spec: CommandSpec;
  let keys: ReturnType<typeof memoryDataKeys>;
  beforeEach(async () => {
    keys = memoryDataKeys();
    spec = await commandSpec({ keys });
  });
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

  describe('of a user others were merged into', () => {
    const register = async (subject: string, email: string) =>
      (
        await spec.given({
          name: 'register-via-provider',
          input: {
            provider: subject.startsWith('g') ? 'google' : 'github',
            subject,
            profile: profile(email, true),
          },
        })
      ).userId;
    const erasedStreams = (outcome: Outcome) =>
      outcome.appended.filter((e) => e.type === 'UserErased').map((e) => e.stream);

    it('erases them too, however deep the merges, and frees their usernames', async () => {
      const survivor = await register('1', 'kim@example.org');
      // A merge with no identity to move: the survivor records it all the same.
      const local = (
        await spec.given({
          name: 'register-local-user',
          input: { username: 'kim-old', password: 'correct horse battery' },
        })
      ).userId;
      const first = await register('g2', 'kim.first@example.org');
      await spec.given({
        name: 'merge-users',
        input: { survivorId: local, mergedId: first },
      });
      await spec.given({
        name: 'merge-users',
        input: { survivorId: survivor, mergedId: local },
      });
      for (const userId of [survivor, local, first]) expect(keys.has(userId)).toBe(true);

      const outcome = await spec.when({
        name: 'erase-user',
        input: { userId: survivor },
      });
      expect(outcome.error).toBeNull();
      expect(erasedStreams(outcome)).toEqual(
        [survivor, local, first].map((userId) => streams.user(userId)),
      );
      // Their personal data in the log is gone with their keys.
      for (const userId of [survivor, local, first]) expect(keys.has(userId)).toBe(false);
      expect(outcome.appended).toContainEqual({
        stream: streams.username('kim-old'),
        type: 'UsernameReleased',
        data: { userId: local, reason: 'erased' },
      });
      const again = await spec.when({
        name: 'register-local-user',
        input: { username: 'kim-old', password: 'another horse battery' },
      });
      expect(again.error).toBeNull();
      // The identities the merged users had are the survivor's, released once.
      const released = outcome.appended.filter((e) => e.type === 'IdentityReleased');
      expect(released.map((e) => e.stream).sort()).toEqual(
        [
          streams.identity({ provider: 'github', subject: '1' }),
          streams.identity({ provider: 'google', subject: 'g2' }),
        ].sort(),
      );
      const report = await verifyLog({ store: spec.store, identitiesPerProvider: 1 });
      expect(report.violations).toEqual([]);

      const repeated = await spec.when({
        name: 'erase-user',
        input: { userId: survivor },
      });
      expect(repeated.appended).toEqual([]);
    });

    /**
     * A merge that closed the merged user and was killed before moving anything, then an
     * erasure of its survivor (which cannot know of the merge yet).
     */
    const halfMergedIntoErased = async () => {
      const survivor = await register('1', 'kim@example.org');
      const merged = await register('g2', 'kim.other@example.org');
      await spec.givenEvents(streams.user(merged), [
        {
          type: 'UserMergedInto',
          data: {
            survivorId: survivor,
            identities: [{ provider: 'google', subject: 'g2' }],
          },
        },
      ]);
      await spec.given({ name: 'erase-user', input: { userId: survivor } });
      expect(keys.has(merged)).toBe(true);
      return { survivor, merged };
    };

    it('erases a user whose merge was left half-done when its survivor was erased', async () => {
      const { survivor, merged } = await halfMergedIntoErased();

      // Repeating the merge finishes it: the merged user goes with its survivor.
      const finished = await spec.when({
        name: 'merge-users',
        input: { survivorId: survivor, mergedId: merged },
      });
      expect(finished.error).toBeNull();
      expect(erasedStreams(finished)).toEqual([streams.user(merged)]);
      expect(keys.has(merged)).toBe(false);
      const identityStream = streams.identity({ provider: 'google', subject: 'g2' });
      const ending = finished.appended.filter((e) => e.stream === identityStream).at(-1);
      expect(ending).toMatchObject({
        type: 'IdentityReleased',
        data: { reason: 'erased' },
      });
      const report = await verifyLog({ store: spec.store, identitiesPerProvider: 1 });
      expect(report.violations).toEqual([]);
    });

    it('lets the repair of such a claim erase the merged user too', async () => {
      const { merged } = await halfMergedIntoErased();
      // The next sign-in with the identity finds the claim and settles it.
      const next = await spec.when({
        name: 'register-via-provider',
        input: { provider: 'google', subject: 'g2', profile: profile() },
      });
      expect(next.result!.created).toBe(true);
      expect(erasedStreams(next)).toEqual([streams.user(merged)]);
      expect(keys.has(merged)).toBe(false);
    });
  });
});
