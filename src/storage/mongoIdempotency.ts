import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { IdempotencyRecord, IdempotencyStore } from '../application/idempotency.js';

interface Row {
  _id: string;
  requestHash: string;
  status: number | null;
  body: string | null;
  createdAt: Date;
}

/** Idempotency records in MongoDB, shared by every instance of the service. */
export const createMongoIdempotencyStore = async (db: Db): Promise<IdempotencyStore> => {
  const keys = db.collection<Row>('idempotencyKeys');
  await keys.createIndex({ createdAt: 1 });
  const id = (caller: string, key: string) => `${caller}\n${key}`;

  return {
    reserve: async (caller, key, requestHash): Promise<IdempotencyRecord> => {
      try {
        await keys.insertOne({
          _id: id(caller, key),
          requestHash,
          status: null,
          body: null,
          createdAt: new Date(),
        });
      } catch (error) {
        // Reserved already (by this request earlier, or another): read what is there.
        if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
      }
      const row = (await keys.findOne({ _id: id(caller, key) }))!;
      return { requestHash: row.requestHash, status: row.status, body: row.body };
    },
    complete: async (caller, key, status, body) => {
      await keys.updateOne(
        { _id: id(caller, key), status: null },
        { $set: { status, body } },
      );
    },
    forget: async (caller, key) => {
      await keys.deleteOne({ _id: id(caller, key), status: null });
    },
    purge: async (before) =>
      (await keys.deleteMany({ createdAt: { $lt: before } })).deletedCount,
    close: async () => {},
  };
};
