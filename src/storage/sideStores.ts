import { join } from 'node:path';
import { MongoStore } from 'connect-mongo';
import type session from 'express-session';
import type { Logger } from 'pino';
import type { IdempotencyStore } from '../application/idempotency.js';
import type { Config } from '../config.js';
import { holdLease } from '../projections/lease.js';
import { openVersionedReadModel } from '../projections/mongoVersions.js';
import type { ReadModel } from '../projections/port.js';
import type { Leadership, Switchable } from '../projections/runner.js';
import { connectMongo, redactMongoUrl } from './mongo.js';
import { createMongoIdempotencyStore } from './mongoIdempotency.js';
import { createMongoTokenVault } from './mongoTokenVault.js';
import { SqliteSessionStore } from './sqliteSessionStore.js';
import { openSqliteIdempotencyStore } from './sqliteIdempotency.js';
import { openSqliteFile } from './sqliteFile.js';
import {
  mongoSealedSamples,
  sqliteSealedSamples,
  type SealedSample,
} from './keyringCheck.js';
import type { PersonalDataKeys } from '../eventstore/codec.js';
import type { EventStore } from '../eventstore/port.js';
import { createMongoDataKeys, openSqliteDataKeys } from './dataKeys.js';
import type { TokenCipher } from './tokenCipher.js';
import { openSqliteTokenVault, type TokenVault } from './tokenVault.js';

/** Everything beside the log: the read model, sessions, tokens, idempotency answers. */
export interface SideStores {
  /** The MongoDB read model; without MongoDB the read model is in memory (see stores.ts). */
  readModel: (ReadModel & Partial<Switchable>) | null;
  /** With MongoDB, who advances the shared read model (one instance at a time). */
  leadership?: Leadership;
  sessionStore: session.Store;
  /** Ends the user's sessions (signed in, or a link waiting for it): erasure. */
  endSessionsOf(userId: string): Promise<number>;
  vault: TokenVault;
  idempotency: IdempotencyStore;
  /** The per-user keys that seal personal data in the log (see eventstore/codec.ts). */
  dataKeys: PersonalDataKeys;
  /**
   * Fills the key store's email index from the log if it predates it, or was made with an
   * older email fold (see foldEmail).
   */
  emailIndexReady(log: EventStore): Promise<void>;
  /** Where they live, for the start-up message. */
  description: string;
  /** One sealed item per key id in use, to check the keyring against at start. */
  sealedSamples(): Promise<SealedSample[]>;
  close(): Promise<void>;
}

/**
 * With `MONGODB_URL`, MongoDB holds them all and they are shared by every instance; else
 * the read model is in memory (rebuilt from the log at start) and the rest in a SQLite
 * file of the data directory.
 */
export const openSideStores = async (options: {
  config: Config;
  dataDir: string;
  logger: Logger;
  cipher: TokenCipher;
}): Promise<SideStores> => {
  const { config, logger } = options;
  if (config.mongoUrl) {
    const { client, db } = await connectMongo(config.mongoUrl);
    const readModel = await openVersionedReadModel(db, logger);
    const lease = config.runProjector
      ? holdLease({ db, name: 'projector', logger })
      : null;
    const sessionStore = MongoStore.create({
      client,
      dbName: db.databaseName,
      collectionName: 'sessions',
      ttl: config.sessionTtlHours * 3600,
      // FerretDB has no TTL indexes: expired sessions are removed by a sweep instead.
      autoRemove: 'interval',
      autoRemoveInterval: 15,
      // Sessions are kept as documents, so that a user's sessions can be found; ones
      // stored as strings by earlier versions are still read.
      unserialize: (stored: unknown) =>
        (typeof stored === 'string' ? JSON.parse(stored) : stored) as session.SessionData,
    });
    const sessions = db.collection<{ _id: string }>('sessions');
    return {
      readModel,
      leadership: lease ?? { isLeader: () => false, onChange: () => {} },
      sessionStore,
      endSessionsOf: async (userId) =>
        (
          await sessions.deleteMany({
            $or: [
              { 'session.passport.user.userId': userId },
              { 'session.pendingLink.ownerId': userId },
            ],
          })
        ).deletedCount,
      vault: createMongoTokenVault(db, options.cipher),
      dataKeys: createMongoDataKeys(db, options.cipher),
      sealedSamples: () => mongoSealedSamples(db),
      // The MongoDB read model finds users by email itself (see refoldEmails).
      emailIndexReady: async () => {},
      idempotency: await createMongoIdempotencyStore(db),
      description: `read model, sessions and tokens: MongoDB (${redactMongoUrl(config.mongoUrl)})`,
      close: async () => {
        await lease?.stop();
        readModel.stop();
        await sessionStore.close();
        await client.close();
      },
    };
  }

  // One connection for the four, so that one commit (one fsync) serves all their writes
  // of a moment.
  const serviceDb = join(options.dataDir, 'service.sqlite');
  const serviceFile = openSqliteFile(serviceDb);
  const sessionStore = new SqliteSessionStore(serviceFile);
  const vault = openSqliteTokenVault(serviceFile, options.cipher);
  const idempotency = openSqliteIdempotencyStore(serviceFile);
  const dataKeys = openSqliteDataKeys(serviceFile, options.cipher);
  return {
    readModel: null,
    sessionStore,
    endSessionsOf: (userId) => sessionStore.endSessionsOf(userId),
    vault,
    idempotency,
    dataKeys,
    emailIndexReady: (log) => dataKeys.emailIndexReady(log),
    sealedSamples: async () => sqliteSealedSamples(serviceFile.db),
    description: `read model: in memory; sessions and tokens: SQLite (${serviceDb})`,
    close: async () => {
      await idempotency.close();
      await sessionStore.close();
      await vault.close();
      await dataKeys.close();
      await serviceFile.close();
    },
  };
};
