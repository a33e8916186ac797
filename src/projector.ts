import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { connectEventStoreDb } from './eventstore/eventStoreDb.js';
import { openSqliteEventStore } from './eventstore/sqlite.js';
import { holdLease } from './projections/lease.js';
import { openVersionedReadModel } from './projections/mongoVersions.js';
import { startProjectionRunner } from './projections/runner.js';
import { createLogger } from './service.js';
import { connectMongo } from './storage/mongo.js';

/**
 * `npm run projector`: the projection runner as a process of its own. Several may run
 * (and the servers too, unless PROJECTOR=off): a lease in MongoDB lets one advance the
 * read model at a time.
 */
const main = async (): Promise<void> => {
  const config = loadConfig();
  if (!config.mongoUrl) {
    throw new ConfigError(
      'the projector advances the MongoDB read model: set MONGODB_URL',
    );
  }
  const logger = createLogger(config.logLevel);
  const store = config.eventStoreUrl
    ? await connectEventStoreDb({ connectionString: config.eventStoreUrl, logger })
    : openSqliteEventStore({
        file: join(resolve(config.dataDir), 'events.sqlite'),
        logger,
      });
  const { client, db } = await connectMongo(config.mongoUrl);
  const readModel = await openVersionedReadModel(db, logger);
  const lease = holdLease({ db, name: 'projector', logger });
  const runner = await startProjectionRunner({
    store,
    readModel,
    logger,
    leadership: lease,
  });
  logger.info('projector running');

  const stop = async () => {
    await runner.stop();
    await lease.stop();
    readModel.stop();
    await client.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof ConfigError ? 2 : 1);
});
