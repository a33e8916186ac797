import { ConfigError, loadConfig } from './config.js';
import { startService } from './service.js';

/** `npm start`: the service on its configuration, embedded defaults when none is given. */
const main = async (): Promise<void> => {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  if (config.eventStoreUrl || config.mongoUrl) {
    console.error(
      'EVENTSTORE_URL and MONGODB_URL are not supported by this version yet: ' +
        'unset them to run on the embedded SQLite store and in-memory read model.',
    );
    process.exit(2);
  }

  const service = await startService(config);
  const lines = [
    `account-links is listening on ${service.url}`,
    `  data directory: ${service.dataDir}`,
    `  events: SQLite (${service.dataDir}/events.sqlite); read model: in memory`,
  ];
  lines.push(
    `  sign-in: ${service.providers.join(', ')}` +
      (service.devProvider
        ? ' (played by the built-in development provider: no real accounts involved)'
        : ''),
    `  open ${service.url}/ in a browser to sign in`,
  );
  if (service.developmentSecrets && service.usesDevelopmentToken) {
    lines.push(
      `  development service token: ${service.developmentSecrets.serviceToken.secret}`,
      `    (generated; stored in ${service.developmentSecrets.file}; set SERVICE_TOKENS to use your own)`,
    );
  }
  console.log(lines.join('\n'));

  const shutdown = (signal: string) => {
    console.log(`${signal} received: finishing in-flight requests`);
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
};

await main();
