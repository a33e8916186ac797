import { MongoClient, type Db } from 'mongodb';

/** MongoDB could not be reached; the message says where and what to check. */
export class MongoUnavailableError extends Error {
  constructor(where: string, cause: unknown) {
    super(
      `MongoDB at ${where} is unreachable (${cause instanceof Error ? cause.message : String(cause)}): ` +
        'check MONGODB_URL and that the server is up',
    );
    this.name = 'MongoUnavailableError';
  }
}

/**
 * The server answered with documents that cannot be what was asked for (another `_id`, a
 * key without its fields). Seen on FerretDB under heavy load, in the same moments as the
 * driver's "BSON element cursor is missing": a transient fault, answered 503 and retried,
 * never taken as data.
 */
export class MongoIncoherentAnswerError extends Error {
  constructor(what: string) {
    super(`MongoDB answered ${what}; retry`);
    this.name = 'MongoIncoherentAnswerError';
  }
}

/** The connection string without credentials, for logs and messages. */
export const redactMongoUrl = (url: string): string =>
  url.replace(/^([a-z+]+:\/\/)[^?]*@/i, '$1***@');

/**
 * Connects, failing fast with a clear message when nobody answers. The database is the
 * one named in the URL's path, `account-links` when it names none.
 */
export const connectMongo = async (
  url: string,
): Promise<{ client: MongoClient; db: Db }> => {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => {});
    throw new MongoUnavailableError(redactMongoUrl(url), error);
  }
  const named = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(url)?.[1];
  return { client, db: client.db(named ? decodeURIComponent(named) : 'account-links') };
};
