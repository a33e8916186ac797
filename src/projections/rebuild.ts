import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { EventStore } from '../eventstore/port.js';
import { holdLease } from './lease.js';
import {
  checkpointId,
  collectionsOf,
  createMongoReadModel,
  ensureIndexes,
  LAYOUT,
  refoldEmails,
  versionCollections,
} from './mongo.js';
import { readModelVersions } from './mongoVersions.js';

export interface RebuildProgress {
  events: number;
  /** 0 to 1, by log position. */
  fraction: number;
}

export interface RebuildResult {
  from: number;
  to: number;
  events: number;
}

// Smaller than the live runner's: FerretDB takes seconds per thousand events.
const BATCH = 250;

/**
 * Builds the next version of the MongoDB read model from the whole log, beside the one in
 * use; catches it up with what arrived meanwhile; makes it the one reads go to (running
 * instances switch within a second or two and their runner goes on from its checkpoint);
 * then drops the old collections. The service keeps answering throughout.
 */
export const rebuildProjections = async (options: {
  db: Db;
  store: EventStore;
  onProgress?: (progress: RebuildProgress) => void;
  /** How long instances get to switch before the old collections are dropped. */
  switchGraceMs?: number;
  logger: Logger;
}): Promise<RebuildResult> => {
  // One rebuild at a time: two would build and switch to the same version.
  const lock = holdLease({
    db: options.db,
    name: 'rebuild',
    logger: options.logger,
    ttlMs: 60_000,
  });
  await lock.ready;
  try {
    if (!lock.isLeader()) {
      throw new RebuildRunning();
    }
    return await rebuild(options);
  } finally {
    await lock.stop();
  }
};

/** Another rebuild holds the lock. */
export class RebuildRunning extends Error {
  constructor() {
    super('another rebuild-projections is running; wait for it to finish');
    this.name = 'RebuildRunning';
  }
}

const rebuild = async (options: {
  db: Db;
  store: EventStore;
  onProgress?: (progress: RebuildProgress) => void;
  switchGraceMs?: number;
}): Promise<RebuildResult> => {
  const { db, store } = options;
  // Read as it is (a version of an earlier layout is rebuilt like any other).
  const from = (await readModelVersions(db).findOne({ _id: 'current' }))?.version ?? 0;
  const to = from + 1;

  // 1. Fresh collections for the next version (whatever an interrupted rebuild left).
  const next = collectionsOf(db, to);
  await Promise.all(
    versionCollections(next).map((collection) => ignoreMissing(collection.drop())),
  );
  await next.checkpoints.deleteOne({ _id: checkpointId(to) });
  await ensureIndexes(next);
  // Marks the empty users as folded the current way, which is how they will be written.
  await refoldEmails(db, to);
  const model = createMongoReadModel(db, to);

  // 2. The log up to its head at start, then up to the head reached meanwhile: the live
  //    runner goes on from there once reads switch (a busy log never waits for a lull).
  const head = (await store.headPosition()) ?? 0n;
  let after: bigint | null = null;
  let events = 0;
  let first: bigint | null = null;
  const catchUp = async (target: bigint | null): Promise<void> => {
    while (target !== null && (after === null || after < target)) {
      const batch = await store.readAll({ after, limit: BATCH });
      if (batch.length === 0) return;
      await model.apply(batch, { after });
      events += batch.length;
      first ??= batch[0]!.position;
      after = batch.at(-1)!.position;
      const span = head - first;
      const done = span > 0n ? Number(((after - first) * 1000n) / span) / 1000 : 1;
      options.onProgress?.({ events, fraction: Math.min(1, done) });
    }
  };
  await catchUp(head);
  await catchUp(await store.headPosition());

  // 3. Reads go to the new version; the old one goes once everyone has switched.
  await readModelVersions(db).updateOne(
    { _id: 'current' },
    { $set: { version: to, layout: LAYOUT } },
    { upsert: true },
  );
  await sleep(options.switchGraceMs ?? 5000);
  const old = collectionsOf(db, from);
  await Promise.all(
    versionCollections(old).map((collection) => ignoreMissing(collection.drop())),
  );
  await old.checkpoints.deleteOne({ _id: checkpointId(from) });
  return { from, to, events };
};

const ignoreMissing = (drop: Promise<boolean>): Promise<boolean> =>
  drop.catch(() => false);
