import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import type { StoredEvent } from '../../src/eventstore/port.js';
import { CheckpointGap, type ReadModel } from '../../src/projections/port.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';

export interface ReadModelFixture {
  /** A new, empty read model (a fresh database for MongoDB) beside the spec's log. */
  fresh: (spec: CommandSpec) => Promise<ReadModel>;
  /** The store reads events with personal data sealed, as the runner gives them to it. */
  readsSealed?: boolean;
  /**
   * For stores that keep a checkpoint apart from the documents: puts it back to
   * `position`, as a crash between the documents' write and the checkpoint's would.
   */
  rewindCheckpoint?: (model: ReadModel, position: bigint | null) => Promise<void>;
  /** For stores that keep a checkpoint apart: a second writer of the same documents. */
  sharing?: (model: ReadModel) => Promise<ReadModel>;
  cleanup: () => Promise<void>;
}

/**
 * The behaviour every read-model store must have; the in-memory store and MongoDB run the
 * same assertions. The log comes from real commands on a SQLite store.
 */
export const describeReadModelContract = (
  name: string,
  factory: () => Promise<ReadModelFixture>,
  options: { keepsCheckpointApart: boolean },
): void => {
  describe(`read model contract: ${name}`, () => {
    let spec: CommandSpec;
    let fixture: ReadModelFixture;
    beforeEach(async () => {
      spec = await commandSpec();
      fixture = await factory();
    });
    afterEach(async () => {
      await spec.close();
      await fixture.cleanup();
    });

    const history = async () => {
      const ann = await spec.run({
        name: 'register-via-provider',
        input: {
          provider: 'github',
          subject: '1',
          profile: profile('Ann@example.com', true),
        },
      });
      await spec.run({
        name: 'link-provider',
        input: { userId: ann.userId, provider: 'google', subject: 'g', profile: {} },
      });
      const bob = await spec.run({
        name: 'register-local-user',
        input: {
          username: 'bob',
          password: 'correct horse battery',
          email: 'ann@example.com',
        },
      });
      const cid = await spec.run({
        name: 'register-via-provider',
        input: {
          provider: 'google',
          subject: 'c3',
          profile: profile('cid@example.com', true),
        },
      });
      await spec.run({
        name: 'unlink-provider',
        input: { userId: ann.userId, provider: 'google', subject: 'g' },
      });
      await spec.run({
        name: 'merge-users',
        input: { survivorId: ann.userId, mergedId: cid.userId },
      });
      await spec.run({ name: 'erase-user', input: { userId: bob.userId } });
      return { ann: ann.userId, bob: bob.userId, cid: cid.userId };
    };
    const log = (): Promise<StoredEvent[]> =>
      spec.store.readAll({ after: null, limit: 10_000, sealed: fixture.readsSealed });

    const snapshot = async (model: ReadModel, ids: Record<string, string>) => ({
      users: await Promise.all(Object.values(ids).map((id) => model.getUser(id))),
      identities: await Promise.all(
        [
          { provider: 'github', subject: '1' },
          { provider: 'google', subject: 'c3' },
          { provider: 'google', subject: 'g' },
        ].map((identity) => model.getIdentity(identity)),
      ),
      byEmail: (await model.findUsersByEmail('ANN@example.com')).map((u) => u.userId),
      open: await model.listOpenClaims(),
      position: await model.position(),
    });

    it('projects users, identities and emails as the commands left them', async () => {
      const ids = await history();
      const model = await fixture.fresh(spec);
      await model.apply(await log());
      const ann = await model.getUser(ids.ann);
      expect(ann).toMatchObject({
        status: 'active',
        email: 'Ann@example.com',
        connections: [
          { provider: 'github', subject: '1' },
          { provider: 'google', subject: 'c3' },
        ],
      });
      expect(await model.getUser(ids.cid)).toMatchObject({
        status: 'merged',
        mergedInto: ids.ann,
      });
      expect(await model.getUser(ids.bob)).toMatchObject({
        status: 'erased',
        email: null,
      });
      expect(await model.getIdentity({ provider: 'google', subject: 'g' })).toMatchObject(
        {
          status: 'released',
          userId: null,
        },
      );
      expect(
        await model.getIdentity({ provider: 'google', subject: 'c3' }),
      ).toMatchObject({
        status: 'linked',
        userId: ids.ann,
      });
      expect(
        await model.getIdentity({ provider: 'github', subject: 'never' }),
      ).toBeNull();
    });

    it('finds active users by email after folding, and no others', async () => {
      const ids = await history();
      const model = await fixture.fresh(spec);
      await model.apply(await log());
      expect(
        (await model.findUsersByEmail(' ANN@EXAMPLE.COM ')).map((u) => u.userId),
      ).toEqual([ids.ann]);
      expect(await model.findUsersByEmail('cid@example.com')).toEqual([]);
    });

    it('gives the same documents when the whole log is applied twice, or in pieces', async () => {
      const ids = await history();
      const events = await log();
      const once = await fixture.fresh(spec);
      await once.apply(events);
      const twice = await fixture.fresh(spec);
      for (let i = 0; i < events.length; i += 3)
        await twice.apply(events.slice(i, i + 3));
      await twice.apply(events);
      await twice.apply(events.slice(2));
      expect(await snapshot(twice, ids)).toEqual(await snapshot(once, ids));
      expect(await twice.position()).toBe(events.at(-1)!.position);
    });

    // Only where documents and checkpoint are written apart (the in-memory store applies
    // both in one step and rebuilds from the log at every start anyway).
    if (options.keepsCheckpointApart)
      it('loses and doubles nothing after a crash between the documents and the checkpoint', async () => {
        const ids = await history();
        const events = await log();
        const reference = await fixture.fresh(spec);
        await reference.apply(events);

        const model = await fixture.fresh(spec);
        const half = Math.floor(events.length / 2);
        await model.apply(events.slice(0, half));
        await model.apply(events.slice(half));
        // The documents of the second half were written; its checkpoint was lost.
        await fixture.rewindCheckpoint!(model, events[half - 1]!.position);
        await model.apply(events.slice(half));
        expect(await snapshot(model, ids)).toEqual(await snapshot(reference, ids));
      });

    it('refuses a batch that would leave a gap after its checkpoint, and applies one that follows on', async () => {
      await history();
      const events = await log();
      const model = await fixture.fresh(spec);
      const half = Math.floor(events.length / 2);
      await model.apply(events.slice(0, half), { after: null });
      // A stale writer's batch from further on: refused, nothing applied.
      await expect(
        model.apply(events.slice(half + 2), { after: events[half + 1]!.position }),
      ).rejects.toBeInstanceOf(CheckpointGap);
      expect(await model.position()).toBe(events[half - 1]!.position);
      // One overlapping the checkpoint applies its new part.
      await model.apply(events.slice(half - 3), { after: events[half - 4]!.position });
      expect(await model.position()).toBe(events.at(-1)!.position);
    });

    // Two writers for a moment (a lease handing over), or a crash between documents and
    // checkpoint: an event applied again must never take a document back in time.
    if (options.keepsCheckpointApart)
      it('never lets an event applied again overwrite a newer document', async () => {
        const ids = await history();
        const events = await log();
        const reference = await fixture.fresh(spec);
        await reference.apply(events);
        const expected = await snapshot(reference, ids);

        const model = await fixture.fresh(spec);
        await model.apply(events);
        for (let k = 1; k < events.length; k += 1) {
          await fixture.rewindCheckpoint!(model, events[k - 1]!.position);
          await model.apply([events[k]!], { after: events[k - 1]!.position });
          const { users, identities, byEmail } = await snapshot(model, ids);
          expect({ users, identities, byEmail }).toEqual({
            users: expected.users,
            identities: expected.identities,
            byEmail: expected.byEmail,
          });
        }
      });

    // A lease handing over: the old writer, not knowing it lost the lead, applies an old
    // batch at the very moment the new writer applies the rest of the log over the same
    // documents. Whatever order their writes land in, no document may end up older.
    if (options.keepsCheckpointApart)
      it('ends with the newest documents when a stale writer and a fresh one write at once', async () => {
        const ids = await history();
        const events = await log();
        const reference = await fixture.fresh(spec);
        await reference.apply(events);
        const expected = await snapshot(reference, ids);

        for (let k = 1; k < events.length; k += 1) {
          const fresh = await fixture.fresh(spec);
          const stale = await fixture.sharing!(fresh);
          await fresh.apply(events.slice(0, k));
          const after = events[k - 1]!.position;
          await Promise.all([
            stale.apply(events.slice(k, k + 3), { after }),
            fresh.apply(events.slice(k), { after }),
          ]);
          await fresh.apply(events);
          expect(await snapshot(fresh, ids)).toEqual(expected);
        }
      });

    it('keeps no open claim once every command finished, and lists one left half-done', async () => {
      await history();
      const model = await fixture.fresh(spec);
      await model.apply(await log());
      expect(await model.listOpenClaims()).toEqual([]);

      const identity = { provider: 'github', subject: '99' };
      await spec.givenEvents(streams.identity(identity), [
        {
          type: 'IdentityClaimed',
          data: {
            ...identity,
            userId: '00000000-0000-4000-8000-000000000009',
            purpose: 'register',
            previousUserId: null,
          },
        },
      ]);
      await model.apply(await log());
      const open = await model.listOpenClaims();
      expect(open).toMatchObject([
        { stream: streams.identity(identity), claimRevision: 0 },
      ]);
      await model.dropOpenClaim(open[0]!.stream, open[0]!.position);
      expect(await model.listOpenClaims()).toEqual([]);
    });

    it('starts without a checkpoint', async () => {
      expect(await (await fixture.fresh(spec)).position()).toBeNull();
    });
  });
};
