import { describe, expect, it } from 'vitest';
import { connectMongo, MongoIncoherentAnswerError } from '../../src/storage/mongo.js';
import {
  checkpointId,
  createMongoReadModel,
  ensureIndexes,
  collectionsOf,
  storedPosition,
} from '../../src/projections/mongo.js';
import { dropDatabase, freshDatabaseUrl, mongoUrl } from '../support/mongo.js';
import { describeReadModelContract } from './readModelContract.js';

const base = mongoUrl();

// Without a MongoDB-wire server (see test/support/globalSetup.ts) the suite is skipped;
// in CI, mongoUrl() throws instead.
describe.skipIf(!base)('MongoDB', () => {
  describeReadModelContract(
    'MongoDB',
    async () => {
      const opened: { url: string; close: () => Promise<void> }[] = [];
      const urls = new WeakMap<object, string>();
      return {
        fresh: async () => {
          const url = freshDatabaseUrl(base!);
          const { client, db } = await connectMongo(url);
          opened.push({ url, close: () => client.close() });
          await ensureIndexes(collectionsOf(db, 1));
          const model = createMongoReadModel(db, 1);
          urls.set(model, url);
          return Object.assign(model, {
            rewind: async (position: bigint | null) => {
              const checkpoints = collectionsOf(db, 1).checkpoints;
              if (position === null)
                await checkpoints.deleteOne({ _id: checkpointId(1) });
              else
                await checkpoints.updateOne(
                  { _id: checkpointId(1) },
                  { $set: { position: storedPosition(position) } },
                );
            },
          });
        },
        rewindCheckpoint: (model, position) =>
          (model as unknown as { rewind: (p: bigint | null) => Promise<void> }).rewind(
            position,
          ),
        // Another instance's writer: its own connection to the same database.
        sharing: async (model) => {
          const { client, db } = await connectMongo(urls.get(model)!);
          opened.push({ url: urls.get(model)!, close: () => client.close() });
          return createMongoReadModel(db, 1);
        },
        cleanup: async () => {
          for (const { close } of opened) await close();
          for (const url of new Set(opened.map(({ url }) => url)))
            await dropDatabase(url);
        },
      };
    },
    { keepsCheckpointApart: true },
  );

  // FerretDB under heavy load was seen answering documents other than those asked for, or
  // parts of them; the model must refuse such an answer (a 503 the caller retries), not
  // read a state from it or fail with a TypeError (a 500).
  it('refuses a head that lacks its state as an incoherent answer, not as data', async () => {
    const url = freshDatabaseUrl(base!);
    const { client, db } = await connectMongo(url);
    try {
      await ensureIndexes(collectionsOf(db, 1));
      const model = createMongoReadModel(db, 1);
      await collectionsOf(db, 1).users.insertOne({ _id: 'user-broken' } as never);
      await expect(model.getUser('user-broken')).rejects.toBeInstanceOf(
        MongoIncoherentAnswerError,
      );
    } finally {
      await client.close();
      await dropDatabase(url);
    }
  });
});
