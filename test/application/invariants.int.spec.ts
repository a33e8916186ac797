import { afterEach, describe, expect, it, vi } from 'vitest';
import { reconcileOnce, startReconciler } from '../../src/application/reconciler.js';
import { AccountLinkingError } from '../../src/domain/errors.js';
import { streams } from '../../src/domain/values.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';
import { crashBefore, SimulatedCrash } from '../support/faults.js';
import { testLogger } from '../support/service.js';

const register = (subject: string, provider = 'github') =>
  ({
    name: 'register-via-provider',
    input: { provider, subject, profile: profile() },
  }) as const;

const settledAll = async <T>(work: Promise<T>[]) => {
  const outcomes = await Promise.allSettled(work);
  return {
    values: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])),
    errors: outcomes.flatMap((o) =>
      o.status === 'rejected' ? [o.reason as AccountLinkingError] : [],
    ),
  };
};

/** Waits for the read model, then asks who holds an identity. */
const holderOf = async (spec: CommandSpec, provider: string, subject: string) => {
  await spec.projection.waitFor((await spec.store.headPosition())!, 2000);
  return (await spec.readModel.getIdentity({ provider, subject }))?.userId ?? null;
};

describe('invariants under attack', () => {
  let spec: CommandSpec;
  afterEach(() => spec.close());

  describe('concurrency', () => {
    it('turns many concurrent first registrations of one identity into one user (4)', async () => {
      spec = await commandSpec();
      const { values, errors } = await settledAll(
        Array.from({ length: 20 }, () => spec.run(register('91'))),
      );
      expect(values).toHaveLength(1);
      const winner = values[0]!.userId;
      expect(errors).toHaveLength(19);
      for (const error of errors) {
        expect(error.code).toBe('identity-already-linked');
        expect(error.details).toEqual({ userId: winner });
      }
      const registrations = (
        await spec.store.readAll({ after: null, limit: 1000 })
      ).filter((e) => e.type === 'UserRegistered');
      expect(registrations).toHaveLength(1);
      expect(await holderOf(spec, 'github', '91')).toBe(winner);
    });

    it('lets one of two concurrent links of an identity win (1)', async () => {
      spec = await commandSpec();
      const a = (await spec.run(register('a', 'google'))).userId;
      const b = (await spec.run(register('b', 'google'))).userId;
      const link = (userId: string) =>
        spec.run({
          name: 'link-provider',
          input: { userId, provider: 'github', subject: '92', profile: {} },
        });
      const { values, errors } = await settledAll([link(a), link(b)]);
      expect(values).toHaveLength(1);
      expect(errors.map((e) => e.code)).toEqual(['identity-already-linked']);
      expect(await holderOf(spec, 'github', '92')).toBe(values[0]!.userId);
      const loser = values[0]!.userId === a ? b : a;
      expect((await spec.readModel.getUser(loser))!.connections).toHaveLength(1);
    });

    it('keeps one identity per provider when two are linked at once, and frees the loser (2)', async () => {
      spec = await commandSpec();
      const a = (await spec.run(register('a', 'google'))).userId;
      const link = (subject: string) =>
        spec.run({
          name: 'link-provider',
          input: { userId: a, provider: 'github', subject, profile: {} },
        });
      const { values, errors } = await settledAll([link('1'), link('2')]);
      expect(values).toHaveLength(1);
      expect(errors.map((e) => e.code)).toEqual(['provider-already-linked']);
      const user = (await spec.readModel.getUser(a))!;
      expect(user.connections.filter((c) => c.provider === 'github')).toHaveLength(1);
      const linked = user.connections.find((c) => c.provider === 'github')!.subject;
      const other = linked === '1' ? '2' : '1';
      expect(await holderOf(spec, 'github', other)).toBeNull();
    });

    it('never lets concurrent unlinks take the last sign-in method (3)', async () => {
      spec = await commandSpec();
      const a = (await spec.run(register('1'))).userId;
      await spec.run({
        name: 'link-provider',
        input: { userId: a, provider: 'google', subject: 'g', profile: {} },
      });
      const { values, errors } = await settledAll([
        spec.run({
          name: 'unlink-provider',
          input: { userId: a, provider: 'github', subject: '1' },
        }),
        spec.run({
          name: 'unlink-provider',
          input: { userId: a, provider: 'google', subject: 'g' },
        }),
      ]);
      expect(values).toHaveLength(1);
      expect(errors.map((e) => e.code)).toEqual(['last-sign-in-method']);
      await holderOf(spec, 'github', '1');
      expect((await spec.readModel.getUser(a))!.connections).toHaveLength(1);
    });
  });

  describe('a crash between two writes (5)', () => {
    const crashingSpec = async (
      matches: (stream: string, types: string[]) => boolean,
    ) => {
      const store = crashBefore(openSqliteEventStore({ file: ':memory:' }), matches);
      return commandSpec({ store });
    };
    const crash = async (work: Promise<unknown>) =>
      expect(work).rejects.toBeInstanceOf(SimulatedCrash);
    const beforeUserWrite = (stream: string) => stream.startsWith('user-');

    it('finishes a registration when the same command is retried', async () => {
      spec = await crashingSpec(beforeUserWrite);
      const context = {
        commandId: '0c5a3b8e-0000-4000-8000-0000000000aa',
        idempotent: true,
      };
      await crash(spec.run(register('90'), context));
      const retried = await spec.run(register('90'), context);
      expect(retried).toMatchObject({ created: true });
      expect(await holderOf(spec, 'github', '90')).toBe(retried.userId);
      expect((await spec.readModel.getUser(retried.userId))!.connections).toHaveLength(1);
    });

    it('finishes a registration when another registration of the identity comes, and says it created the user', async () => {
      spec = await crashingSpec(beforeUserWrite);
      await crash(spec.run(register('90')));
      const next = await spec.run(register('90'));
      expect(next).toMatchObject({
        created: true,
        events: ['UserRegistered', 'ProviderLinked'],
      });
      expect(await holderOf(spec, 'github', '90')).toBe(next.userId);
      expect((await spec.readModel.getUser(next.userId))!.status).toBe('active');
      const again = await spec.run(register('90')).catch((e: AccountLinkingError) => e);
      expect((again as AccountLinkingError).code).toBe('identity-already-linked');
    });

    it('lets the reconciler undo a registration nobody finished, freeing the identity', async () => {
      spec = await crashingSpec(beforeUserWrite);
      await crash(spec.run(register('90')));
      const abandoned = (await holderOf(spec, 'github', '90'))!;
      spec.advance(60_000);
      const report = await reconcileOnce(spec.services);
      expect(report).toMatchObject({ repaired: 1, failed: 0 });
      expect(await holderOf(spec, 'github', '90')).toBeNull();
      const again = await spec.run(register('90'));
      expect(again.userId).not.toBe(abandoned);
      expect(await spec.readModel.getUser(abandoned)).toBeNull();
    });

    it('settles work left half-done just before a start once its grace ends, not an interval later', async () => {
      spec = await crashingSpec(beforeUserWrite);
      await crash(spec.run(register('90')));
      expect(await holderOf(spec, 'github', '90')).not.toBeNull();
      const [claim] = await spec.readModel.listOpenClaims();
      // A restart 100 ms after the claim, with a grace of 300 ms and a pass an hour.
      const startedAt = Date.now();
      const restartAt = Date.parse(claim!.since) + 100;
      const services = {
        ...spec.services,
        repairGraceMs: 300,
        now: () => new Date(restartAt + Date.now() - startedAt),
      };
      const reconciler = startReconciler(services, testLogger(), 3_600_000);
      try {
        expect(await reconciler.firstPass).toMatchObject({ repaired: 0, waiting: 1 });
        expect(await holderOf(spec, 'github', '90')).not.toBeNull();
        await vi.waitFor(
          async () => expect(await holderOf(spec, 'github', '90')).toBeNull(),
          { timeout: 3000, interval: 50 },
        );
      } finally {
        await reconciler.stop();
      }
    });

    it('lets the reconciler finish a link whose user write never happened', async () => {
      spec = await crashingSpec(
        (stream, types) =>
          stream.startsWith('user-') &&
          types.includes('ProviderLinked') &&
          !types.includes('UserRegistered'),
      );
      const a = (await spec.run(register('g', 'google'))).userId;
      await crash(
        spec.run({
          name: 'link-provider',
          input: { userId: a, provider: 'github', subject: '5', profile: {} },
        }),
      );
      spec.advance(60_000);
      await holderOf(spec, 'github', '5');
      await reconcileOnce(spec.services);
      await holderOf(spec, 'github', '5');
      expect(
        (await spec.readModel.getUser(a))!.connections.map((c) => c.subject),
      ).toEqual(['g', '5']);
    });

    it('lets the reconciler release an identity whose unlink was recorded', async () => {
      spec = await crashingSpec((stream, types) => types.includes('IdentityReleased'));
      const a = (await spec.run(register('1'))).userId;
      await spec.run({
        name: 'link-provider',
        input: { userId: a, provider: 'google', subject: 'g', profile: {} },
      });
      await crash(
        spec.run({
          name: 'unlink-provider',
          input: { userId: a, provider: 'github', subject: '1' },
        }),
      );
      expect(await holderOf(spec, 'github', '1')).toBe(a);
      spec.advance(60_000);
      await reconcileOnce(spec.services);
      expect(await holderOf(spec, 'github', '1')).toBeNull();
      const b = await spec.run(register('1'));
      expect(b.created).toBe(true);
    });

    it('finishes a merge when it is run again, or by the reconciler', async () => {
      // The second claim of github:1 is the merge moving it: die just before it.
      let claims = 0;
      const github1 = streams.identity({ provider: 'github', subject: '1' });
      spec = await crashingSpec(
        (stream, types) =>
          stream === github1 && types.includes('IdentityClaimed') && ++claims === 2,
      );
      const survivor = (await spec.run(register('g', 'google'))).userId;
      const merged = (await spec.run(register('1'))).userId;
      await crash(
        spec.run({
          name: 'merge-users',
          input: { survivorId: survivor, mergedId: merged },
        }),
      );
      spec.advance(60_000);
      await holderOf(spec, 'github', '1');
      await reconcileOnce(spec.services);
      expect(await holderOf(spec, 'github', '1')).toBe(survivor);
      const again = await spec.run({
        name: 'merge-users',
        input: { survivorId: survivor, mergedId: merged },
      });
      expect(again.userId).toBe(survivor);
      const user = (await spec.readModel.getUser(survivor))!;
      expect(user.connections.map((c) => c.subject).sort()).toEqual(['1', 'g']);
      expect((await spec.readModel.getUser(merged))!).toMatchObject({
        status: 'merged',
        mergedInto: survivor,
      });
    });

    it('lets the reconciler release what an erased user held', async () => {
      spec = await crashingSpec((_stream, types) => types.includes('IdentityReleased'));
      const a = (await spec.run(register('1'))).userId;
      await crash(spec.run({ name: 'erase-user', input: { userId: a } }));
      spec.advance(60_000);
      await holderOf(spec, 'github', '1');
      await reconcileOnce(spec.services);
      expect(await holderOf(spec, 'github', '1')).toBeNull();
    });
  });
});
