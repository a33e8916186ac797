import { afterEach, describe, expect, it } from 'vitest';
import type { Db, MongoClient } from 'mongodb';
import { holdLease } from '../../src/projections/lease.js';
import {
  openVersionedReadModel,
  type VersionedReadModel,
} from '../../src/projections/mongoVersions.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import {
  startProjectionRunner,
  type ProjectionRunner,
} from '../../src/projections/runner.js';
import { collectionsOf } from '../../src/projections/mongo.js';
import { connectMongo } from '../../src/storage/mongo.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';
import { dropDatabase, freshDatabaseUrl, mongoUrl } from '../support/mongo.js';
import { testLogger } from '../support/service.js';
import { referenceReplay } from '../support/replay.js';

const base = mongoUrl();

describe.skipIf(!base)('the MongoDB read model at work', () => {
  let spec: CommandSpec;
  let url: string;
  let mongo: { client: MongoClient; db: Db };
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  const setUp = async () => {
    spec = await commandSpec();
    url = freshDatabaseUrl(base!);
    mongo = await connectMongo(url);
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await spec.close();
    await mongo.client.close();
    await dropDatabase(url);
  });

  /** A service instance as far as the read model goes: a runner holding (or not) the lease. */
  const instance = async (ttlMs = 400) => {
    const readModel = await openVersionedReadModel(mongo.db, testLogger(), 100);
    const lease = holdLease({
      db: mongo.db,
      name: 'projector',
      logger: testLogger(),
      ttlMs,
    });
    const runner = await startProjectionRunner({
      store: spec.store,
      readModel,
      logger: testLogger(),
      leadership: lease,
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await runner.stop();
      await lease.stop();
      readModel.stop();
    };
    cleanups.push(stop);
    return { readModel, lease, runner, stop };
  };

  const register = (subject: string) =>
    spec.run({
      name: 'register-via-provider',
      input: {
        provider: 'github',
        subject,
        profile: profile(`${subject}@example.com`, true),
      },
    });

  const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('lets exactly one instance advance the read model, and another take over when it stops', async () => {
    await setUp();
    const a = await instance();
    const b = await instance();
    await until(() => a.lease.isLeader() || b.lease.isLeader());
    expect([a.lease.isLeader(), b.lease.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.lease.isLeader() ? [a, b] : [b, a];

    const first = await register('1');
    // Both answer read-your-writes: the follower by watching the checkpoint.
    expect(await leader.runner.waitFor(first.position, 3000)).toBe(true);
    expect(await follower.runner.waitFor(first.position, 3000)).toBe(true);

    await leader.stop();
    await until(() => follower.lease.isLeader(), 3000);
    const second = await register('2');
    expect(await follower.runner.waitFor(second.position, 3000)).toBe(true);
    expect(await follower.readModel.getUser(second.userId)).toMatchObject({
      status: 'active',
    });
  });

  it(
    'rebuilds while commands keep arriving, and ends with what a fresh replay gives',
    { timeout: 60_000 },
    async () => {
      await setUp();
      const live = await instance();
      await until(() => live.lease.isLeader());
      for (let i = 0; i < 30; i += 1) await register(`before-${i}`);

      // Commands keep coming while the rebuild runs.
      let writing = true;
      // A steady trickle (FerretDB, the CI server, is slow: a flood would outrun any rebuild).
      const writer = (async () => {
        for (let i = 0; writing && i < 60; i += 1) {
          await register(`during-${i}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const result = await rebuildProjections({
        db: mongo.db,
        store: spec.store,
        switchGraceMs: 300,
        logger: testLogger(),
      });
      writing = false;
      await writer;
      expect(result).toMatchObject({ from: 1, to: 2 });
      expect(live.readModel.version()).toBe(2);

      const head = (await spec.store.headPosition())!;
      expect(await live.runner.waitFor(head, 5000)).toBe(true);
      const log = await spec.store.readAll({ after: null, limit: 100_000 });
      const replay = referenceReplay(log);
      const userIds = [
        ...new Set(
          log
            .filter((e) => e.type === 'UserRegistered')
            .map((e) => e.data.userId as string),
        ),
      ];
      for (const userId of userIds) {
        expect(await live.readModel.getUser(userId)).toEqual(
          await replay.getUser(userId),
        );
      }
      expect(userIds.length).toBeGreaterThan(30);
      const identities = log
        .filter((e) => e.type === 'IdentityClaimed')
        .map((e) => ({ provider: 'github', subject: e.data.subject as string }));
      for (const identity of identities) {
        expect(await live.readModel.getIdentity(identity)).toEqual(
          await replay.getIdentity(identity),
        );
      }
      expect(await live.readModel.position()).toBe(head);
      const collections = (await mongo.db.listCollections().toArray()).map((c) => c.name);
      expect(collections).not.toContain('users_v1');
      expect(collections).toContain('users_v2');
    },
  );

  it('switches a running instance to the rebuilt version, reads and all', async () => {
    await setUp();
    const live: { readModel: VersionedReadModel; runner: ProjectionRunner } =
      await instance();
    const created = await register('switch');
    await live.runner.waitFor(created.position, 3000);
    await rebuildProjections({
      db: mongo.db,
      store: spec.store,
      switchGraceMs: 300,
      logger: testLogger(),
    });
    await until(() => live.readModel.version() === 2);
    expect(await live.readModel.getUser(created.userId)).toMatchObject({
      status: 'active',
    });
    const later = await register('after-switch');
    expect(await live.runner.waitFor(later.position, 3000)).toBe(true);
    expect(await live.readModel.getUser(later.userId)).toMatchObject({
      status: 'active',
    });
  });

  it('does not believe a head written late by a writer that lost the lead', async () => {
    await setUp();
    const live = await instance();
    await until(() => live.lease.isLeader());
    const ann = await register('ann');
    expect(await live.runner.waitFor(ann.position, 5000)).toBe(true);
    const { users } = collectionsOf(mongo.db, 1);
    const first = await users.findOne({ _id: ann.userId });
    const linked = await spec.run({
      name: 'link-provider',
      input: { userId: ann.userId, provider: 'google', subject: 'g', profile: {} },
    });
    expect(await live.runner.waitFor(linked.position, 5000)).toBe(true);
    // The stale writer's head lands last, older than the state that follows it.
    await users.replaceOne({ _id: ann.userId }, first!);
    expect(await users.findOne({ _id: ann.userId })).toMatchObject({ seq: first!.seq });
    expect(await live.readModel.getUser(ann.userId)).toMatchObject({
      connections: [{ provider: 'github' }, { provider: 'google' }],
      position: linked.position,
    });
  });

  it('builds the read model again from the log when it was laid out by an earlier build', async () => {
    await setUp();
    const ann = await register('ann');
    const versions = mongo.db.collection<{ _id: string; version: number }>(
      'readModelVersion',
    );
    // What an earlier build left: version 1 without a layout, its users as bare documents.
    await versions.insertOne({ _id: 'current', version: 1 });
    await mongo.db
      .collection<{ _id: string; status: string; position: string }>('users_v1')
      .insertOne({ _id: ann.userId, status: 'active', position: '0' });

    const live = await instance();
    await live.runner.caughtUp;
    expect(live.readModel.version()).toBe(2);
    expect(await live.readModel.getUser(ann.userId)).toMatchObject({
      status: 'active',
      connections: [{ provider: 'github', subject: 'ann' }],
    });
    const names = (await mongo.db.listCollections().toArray()).map((c) => c.name);
    expect(names).not.toContain('users_v1');
    // Started again: nothing to move.
    await live.stop();
    expect((await instance()).readModel.version()).toBe(2);
  });

  it('folds stored emails again when the email fold changed, once', async () => {
    await setUp();
    const live = await instance();
    await until(() => live.lease.isLeader());
    const withEmail = (subject: string, email: string) =>
      spec.run({
        name: 'register-via-provider',
        input: { provider: 'github', subject, profile: profile(email, true) },
      });
    const ascii = await withEmail('ascii', 'Kim@Example.org');
    // A fullwidth ｋ: the first fold (NFKC) stored it as kim@example.org.
    const fullwidth = await withEmail('fullwidth', '\uff4bim@example.org');
    expect(await live.runner.waitFor(fullwidth.position, 5000)).toBe(true);
    await live.stop();

    // Each user's states (the last one is all that is left whole) as the old fold had them.
    const { usersHistory: users } = collectionsOf(mongo.db, 1);
    await users.updateMany(
      { key: fullwidth.userId, live: true },
      { $set: { emailFolded: 'kim@example.org' } },
    );
    await mongo.db
      .collection<{ _id: string }>('readModelVersion')
      .deleteOne({ _id: 'email-fold-v1' });
    expect(await users.countDocuments({ emailFolded: 'kim@example.org' })).toBe(2);

    const next = await instance();
    const found = async (email: string) =>
      (await next.readModel.findUsersByEmail(email)).map((user) => user.userId);
    expect(await found('kim@example.org')).toEqual([ascii.userId]);
    expect(await found('\uff4bim@example.org')).toEqual([fullwidth.userId]);
    // Marked: the next start leaves what is stored alone.
    await users.updateMany(
      { key: fullwidth.userId, live: true },
      { $set: { emailFolded: 'marked@example.org' } },
    );
    const third = await instance();
    expect(
      (await third.readModel.findUsersByEmail('marked@example.org')).map((u) => u.userId),
    ).toEqual([fullwidth.userId]);
  });
});
