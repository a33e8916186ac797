import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { holdLease } from './lease.js';
import {
  LAYOUT,
  checkpointId,
  versionCollections,
  collectionsOf,
  createMongoReadModel,
  ensureIndexes,
  refoldEmails,
} from './mongo.js';
import type { ReadModel } from './port.js';
import type { Switchable } from './runner.js';

interface VersionRow {
  _id: 'current';
  version: number;
  /** How its collections are laid out (see LAYOUT); absent before layout 2. */
  layout?: number;
}

export const readModelVersions = (db: Db) =>
  db.collection<VersionRow>('readModelVersion');

/**
 * The version of the read model reads go to (1 on a fresh database). One written in an
 * earlier layout is left for the next version, empty and in this layout, which the
 * projection runner fills from the log before the instance reports ready; the old one is
 * dropped (instances of an earlier build must be stopped first).
 */
export const currentVersion = async (db: Db, logger?: Logger): Promise<number> => {
  const versions = readModelVersions(db);
  try {
    await versions.insertOne({ _id: 'current', version: 1, layout: LAYOUT });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
  }
  const row = (await versions.findOne({ _id: 'current' }))!;
  if (row.layout === LAYOUT) return row.version;

  // One instance moves it on; the others wait to see it moved.
  const lock = holdLease({
    db,
    name: 'rebuild',
    logger: logger ?? silent,
    ttlMs: 60_000,
  });
  await lock.ready;
  try {
    if (!lock.isLeader()) {
      for (let waited = 0; waited < 120_000; waited += 500) {
        await sleep(500);
        const now = await versions.findOne({ _id: 'current' });
        if (now?.layout === LAYOUT) return now.version;
      }
      throw new Error('the read model is being moved to a new layout by another process');
    }
    const now = (await versions.findOne({ _id: 'current' }))!;
    if (now.layout === LAYOUT) return now.version;
    const next = collectionsOf(db, now.version + 1);
    await Promise.all(versionCollections(next).map((c) => c.drop().catch(() => false)));
    await next.checkpoints.deleteOne({ _id: checkpointId(now.version + 1) });
    await versions.updateOne(
      { _id: 'current' },
      { $set: { version: now.version + 1, layout: LAYOUT } },
    );
    const old = collectionsOf(db, now.version);
    await Promise.all(versionCollections(old).map((c) => c.drop().catch(() => false)));
    await old.checkpoints.deleteOne({ _id: checkpointId(now.version) });
    logger?.warn(
      { from: now.version, to: now.version + 1 },
      'read model from an earlier layout dropped; it is built again from the log',
    );
    return now.version + 1;
  } finally {
    await lock.stop();
  }
};

const silent = pino({ level: 'silent' });

export type VersionedReadModel = ReadModel &
  Switchable & { version(): number; stop(): void };

/**
 * The MongoDB read model as the service uses it: the current version's collections, and
 * a switch to a rebuilt version as soon as `account-links rebuild-projections` makes it
 * current (noticed within `pollMs`).
 */
export const openVersionedReadModel = async (
  db: Db,
  logger: Logger,
  pollMs = 1000,
): Promise<VersionedReadModel> => {
  let version = await currentVersion(db, logger);
  await ensureIndexes(collectionsOf(db, version));
  const refolded = await refoldEmails(db, version);
  if (refolded > 0)
    logger.info({ users: refolded, version }, 'read model emails refolded');
  let model = createMongoReadModel(db, version);
  const listeners: (() => void)[] = [];

  const poll = setInterval(() => {
    void readModelVersions(db)
      .findOne({ _id: 'current' })
      .then((row) => {
        if (!row || row.version === version) return;
        logger.info(
          { from: version, to: row.version },
          'read model switched to a rebuilt version',
        );
        version = row.version;
        model = createMongoReadModel(db, version);
        listeners.forEach((listener) => listener());
      })
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not read the read model version'),
      );
  }, pollMs);
  poll.unref();

  return {
    version: () => version,
    onSwitch: (listener) => listeners.push(listener),
    position: () => model.position(),
    apply: (events, options) => model.apply(events, options),
    getUser: (userId) => model.getUser(userId),
    getIdentity: (identity) => model.getIdentity(identity),
    findUsersByEmail: (email) => model.findUsersByEmail(email),
    listOpenClaims: () => model.listOpenClaims(),
    dropOpenClaim: (stream, position) => model.dropOpenClaim(stream, position),
    close: async () => clearInterval(poll),
    stop: () => clearInterval(poll),
  };
};
