import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { Logger } from 'pino';
import {
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
}

export const readModelVersions = (db: Db) =>
  db.collection<VersionRow>('readModelVersion');

/** The version of the read model reads go to (1 on a fresh database). */
export const currentVersion = async (db: Db): Promise<number> => {
  const versions = readModelVersions(db);
  try {
    await versions.insertOne({ _id: 'current', version: 1 });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
  }
  return (await versions.findOne({ _id: 'current' }))!.version;
};

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
  let version = await currentVersion(db);
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
