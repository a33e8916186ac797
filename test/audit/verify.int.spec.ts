import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLog, type Violation } from '../../src/audit/verify.js';
import type { DomainEvent } from '../../src/domain/events.js';
import { streams } from '../../src/domain/values.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';
import { OTHER, USER, linked, passwordSet, registered } from '../support/domain.js';

const claimed = (
  subject: string,
  userId: string | null,
  purpose: 'register' | 'link' | 'merge' = 'register',
): DomainEvent => ({
  type: 'IdentityClaimed',
  data: { provider: 'github', subject, userId, purpose, previousUserId: null },
});
const released = (subject: string, userId: string): DomainEvent => ({
  type: 'IdentityReleased',
  data: { provider: 'github', subject, userId, reason: 'unlinked' },
});
const gh = (subject: string) => streams.identity({ provider: 'github', subject });

/**
 * A log written event by event, bypassing the deciders: what a bug, a hand edit or a
 * faulty migration could leave behind. Each `write` is one command's events.
 */
const craftedLog = () => {
  const store: EventStore = openSqliteEventStore({ file: ':memory:' });
  let second = 0;
  return {
    store,
    write: async (stream: string, events: DomainEvent[]) => {
      const commandId = randomUUID();
      const current = (await store.readStream(stream)).length - 1;
      await store.append(
        stream,
        events.map((event) => ({
          id: randomUUID(),
          type: event.type,
          data: event.data,
          metadata: {
            schemaVersion: event.type === 'UserRegistered' ? 2 : 1,
            actor: 'crafted',
            flow: 'admin' as const,
            correlationId: commandId,
            causationId: commandId,
            requestId: null,
            commandId,
            time: new Date(Date.UTC(2026, 0, 1, 0, 0, (second += 1))).toISOString(),
          },
        })),
        current < 0 ? 'no-stream' : current,
      );
      return (await store.readStream(stream)).at(-1)!;
    },
  };
};

/** A user signed up with GitHub, properly: claim, then the user's stream. */
const signedUp = async (
  log: ReturnType<typeof craftedLog>,
  userId: string,
  subject: string,
) => {
  await log.write(gh(subject), [claimed(subject, userId)]);
  await log.write(streams.user(userId), [
    registered(userId),
    linked('github', subject, 0),
  ]);
};

const verify = (store: EventStore, identitiesPerProvider = 1) =>
  verifyLog({ store, identitiesPerProvider });

describe('verify: the invariants held at every point of the log', () => {
  let spec: CommandSpec | null = null;
  afterEach(async () => {
    await spec?.close();
    spec = null;
  });

  it('passes on a log written by the commands: sign-ups, links, unlinks, merges, erasure', async () => {
    spec = await commandSpec();
    const progress: number[] = [];
    const ann = await spec.run({
      name: 'register-via-provider',
      input: {
        provider: 'github',
        subject: '1',
        profile: profile('a@example.com', true),
      },
    });
    await spec.run({
      name: 'link-provider',
      input: { userId: ann.userId, provider: 'google', subject: 'g1', profile: {} },
    });
    const bob = await spec.run({
      name: 'register-local-user',
      input: { username: 'bob', password: 'correct horse battery' },
    });
    await spec.run({
      name: 'link-provider',
      input: { userId: bob.userId, provider: 'github', subject: '2', profile: {} },
    });
    await spec.run({
      name: 'unlink-provider',
      input: { userId: ann.userId, provider: 'google', subject: 'g1' },
    });
    // The released identity goes to someone else.
    const cid = await spec.run({
      name: 'register-via-provider',
      input: { provider: 'google', subject: 'g1', profile: {} },
    });
    await spec.run({
      name: 'unlink-provider',
      input: { userId: bob.userId, provider: 'github', subject: '2' },
    });
    await spec.run({
      name: 'merge-users',
      input: { survivorId: bob.userId, mergedId: cid.userId },
    });
    await spec.run({ name: 'erase-user', input: { userId: ann.userId } });

    const report = await verifyLog({
      store: spec.store,
      identitiesPerProvider: 1,
      onProgress: (events) => progress.push(events),
    });
    expect(report).toMatchObject({ ok: true, violations: [], users: 3 });
    expect(report.events).toBeGreaterThan(20);
    expect(progress.at(-1)).toBe(report.events);
  });

  const expectViolation = (
    violations: Violation[],
    expected: Partial<Violation>,
  ): void => {
    expect(violations).toContainEqual(expect.objectContaining(expected));
  };

  it('fails when an identity is connected to two users at once, naming the event', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '10');
    // Taken over without a release: a second claim, and the second user links it.
    await log.write(gh('10'), [claimed('10', OTHER, 'link')]);
    await log.write(streams.user(OTHER), [registered(OTHER), passwordSet]);
    const offending = await log.write(streams.user(OTHER), [linked('github', '10', 1)]);

    const report = await verify(log.store);
    expect(report.ok).toBe(false);
    expectViolation(report.violations, {
      invariant: 'one-holder',
      stream: streams.user(OTHER),
      revision: offending.revision,
      type: 'ProviderLinked',
      position: offending.position.toString(),
    });
  });

  it('fails when a link has no claim behind it', async () => {
    const log = craftedLog();
    await log.write(streams.user(USER), [registered(USER), passwordSet]);
    const offending = await log.write(streams.user(USER), [linked('github', '20', 0)]);
    // A claim made after the link does not back it either.
    await log.write(gh('20'), [claimed('20', USER, 'link')]);

    const report = await verify(log.store);
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([
      expect.objectContaining({
        invariant: 'claim-backed',
        stream: streams.user(USER),
        revision: offending.revision,
        type: 'ProviderLinked',
      }),
    ]);
  });

  it("fails when a link is backed by another user's claim, or a released one", async () => {
    const log = craftedLog();
    await log.write(gh('21'), [claimed('21', OTHER)]);
    await log.write(streams.user(USER), [registered(USER), passwordSet]);
    const theirs = await log.write(streams.user(USER), [linked('github', '21', 0)]);
    await log.write(gh('22'), [claimed('22', USER, 'link'), released('22', USER)]);
    const stale = await log.write(streams.user(USER), [linked('github', '22', 0)]);

    const report = await verify(log.store, 2);
    const claimBacked = report.violations.filter((v) => v.invariant === 'claim-backed');
    expect(claimBacked.map((v) => v.revision)).toEqual([theirs.revision, stale.revision]);
  });

  it('fails when a user is left without a way to sign in', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '30');
    const offending = await log.write(streams.user(USER), [
      {
        type: 'ProviderUnlinked',
        data: { provider: 'github', subject: '30', claimRevision: 0 },
      },
    ]);
    await log.write(gh('30'), [released('30', USER)]);

    const report = await verify(log.store);
    expect(report.violations).toEqual([
      expect.objectContaining({
        invariant: 'sign-in-method',
        stream: streams.user(USER),
        revision: offending.revision,
        type: 'ProviderUnlinked',
      }),
    ]);
  });

  it('does not count the moment inside one command: a password set with the unlink is fine', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '31');
    await log.write(streams.user(USER), [
      {
        type: 'ProviderUnlinked',
        data: { provider: 'github', subject: '31', claimRevision: 0 },
      },
      passwordSet,
    ]);
    await log.write(gh('31'), [released('31', USER)]);
    expect((await verify(log.store)).ok).toBe(true);
  });

  it('fails when something happens to a user after it was erased or merged', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '40');
    await log.write(streams.user(USER), [
      {
        type: 'UserErased',
        data: {
          identities: [{ provider: 'github', subject: '40' }],
          usernameStream: null,
        },
      },
    ]);
    await log.write(gh('40'), [released('40', USER)]);
    const afterErasure = await log.write(streams.user(USER), [passwordSet]);

    await signedUp(log, OTHER, '41');
    await log.write(streams.user(OTHER), [
      { type: 'UserMergedInto', data: { survivorId: USER, identities: [] } },
    ]);
    const afterMerge = await log.write(streams.user(OTHER), [passwordSet]);

    const report = await verify(log.store);
    const afterTheEnd = report.violations.filter((v) => v.invariant === 'after-the-end');
    expect(afterTheEnd).toEqual([
      expect.objectContaining({
        stream: streams.user(USER),
        revision: afterErasure.revision,
        type: 'PasswordSet',
      }),
      expect.objectContaining({
        stream: streams.user(OTHER),
        revision: afterMerge.revision,
        type: 'PasswordSet',
      }),
    ]);
  });

  it('fails when a user holds more identities of a provider than the policy allows', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '50');
    await log.write(gh('51'), [claimed('51', USER, 'link')]);
    const offending = await log.write(streams.user(USER), [linked('github', '51', 0)]);

    const strict = await verify(log.store, 1);
    expect(strict.violations).toEqual([
      expect.objectContaining({
        invariant: 'per-provider',
        revision: offending.revision,
      }),
    ]);
    expect((await verify(log.store, 2)).ok).toBe(true);
  });

  it('judges each link by the limit it was decided under, not by a later setting', async () => {
    spec = await commandSpec({ policy: { identitiesPerProvider: 2 } });
    const user = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: '60', profile: profile() },
    });
    await spec.given({
      name: 'link-provider',
      input: {
        userId: user.userId,
        provider: 'github',
        subject: '61',
        profile: profile(),
      },
    });
    // The setting is lowered to 1 afterwards; the user keeps both and goes on.
    await spec.givenEvents(streams.user(user.userId), [passwordSet]);
    const report = await verify(spec.store, 1);
    expect(report.violations).toEqual([]);
  });

  it('reports an old link over the limit once, not on every later event of its user', async () => {
    const log = craftedLog();
    await signedUp(log, USER, '70');
    await log.write(gh('71'), [claimed('71', USER, 'link')]);
    const offending = await log.write(streams.user(USER), [linked('github', '71', 0)]);
    await log.write(streams.user(USER), [passwordSet]);
    const report = await verify(log.store, 1);
    expect(report.violations).toEqual([
      expect.objectContaining({
        invariant: 'per-provider',
        revision: offending.revision,
      }),
    ]);
  });
});
