import { ConfigError, loadConfig } from './config.js';
import { startProjectionRunner } from './projections/runner.js';
import { createLogger } from './logger.js';
import { openStores } from './stores.js';

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
  // This process exists to project: it competes for the lease whatever PROJECTOR says.
  const stores = await openStores({ config: { ...config, runProjector: true }, logger });
  const runner = await startProjectionRunner({
    store: stores.store,
    readModel: stores.readModel,
    logger,
    leadership: stores.side.leadership,
  });
  logger.info('projector running');

  const stop = async () => {
    await runner.stop();
    await stores.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof ConfigError ? 2 : 1);
});
