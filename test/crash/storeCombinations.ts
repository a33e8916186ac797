import { startEventStoreDbDouble } from '../support/eventStoreDb/eventStoreDbDouble.js';
import { dropDatabase, freshDatabaseUrl } from '../support/mongo.js';

/** Where the killed service keeps its log and its read model. */
export interface StoreCombination {
  name: 'sqlite' | 'mongodb' | 'eventstoredb' | 'eventstoredb-mongodb';
  stores: string;
  mongo: boolean;
  eventStoreDb: boolean;
}

export const COMBINATIONS: StoreCombination[] = [
  {
    name: 'sqlite',
    stores: 'SQLite log, in-memory read model (the embedded default)',
    mongo: false,
    eventStoreDb: false,
  },
  {
    name: 'mongodb',
    stores: 'SQLite log, MongoDB (FerretDB) read model',
    mongo: true,
    eventStoreDb: false,
  },
  {
    name: 'eventstoredb',
    stores: 'EventStoreDB (double) log, in-memory read model',
    mongo: false,
    eventStoreDb: true,
  },
  {
    name: 'eventstoredb-mongodb',
    stores: 'EventStoreDB (double) log, MongoDB (FerretDB) read model',
    mongo: true,
    eventStoreDb: true,
  },
];

export interface PreparedStores {
  /** What the service process needs in its environment to use these stores. */
  env: Record<string, string>;
  close: () => Promise<void>;
}

/**
 * Starts what the service keeps outside its data directory. The EventStoreDB double runs
 * in the test's own process, so it lives through every SIGKILL of the service, as a real
 * EventStoreDB server would; MongoDB gets a database of its own.
 */
export const prepareStores = async (
  combination: StoreCombination,
  mongoBase: string | null,
): Promise<PreparedStores> => {
  const env: Record<string, string> = {};
  const closers: Array<() => Promise<void>> = [];
  if (combination.eventStoreDb) {
    const double = await startEventStoreDbDouble();
    env.EVENTSTORE_URL = double.connectionString;
    closers.push(() => double.close());
  }
  if (combination.mongo) {
    if (!mongoBase) throw new Error(`${combination.name} needs MongoDB`);
    const url = freshDatabaseUrl(mongoBase);
    env.MONGODB_URL = url;
    closers.push(() => dropDatabase(url).catch(() => {}));
  }
  return {
    env,
    close: async () => {
      for (const close of closers) await close();
    },
  };
};
