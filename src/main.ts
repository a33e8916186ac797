import { ConfigError, loadConfig, type Config } from './config.js';
import { redact } from './eventstore/eventStoreDb.js';
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

  const service = await startService(config).catch((error: unknown) => {
    console.error(startFailure(error, config));
    process.exit(1);
  });
  const lines = [
    `account-links is listening on ${service.url}`,
    `  data directory: ${service.dataDir}`,
    `  events: ${
      config.eventStoreUrl
        ? `EventStoreDB (${redact(config.eventStoreUrl)})`
        : `SQLite (${service.dataDir}/events.sqlite)`
    }`,
    `  ${service.sideStores}`,
  ];
  lines.push(
    `  sign-in: ${[...service.providers, 'password'].join(', ')}` +
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

/** A start-up failure in words that say what to change. */
const startFailure = (error: unknown, config: Config): string => {
  const code = (error as NodeJS.ErrnoException).code;
  const path = (error as NodeJS.ErrnoException).path;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${config.port} on ${config.host} is in use: stop what uses it, or set PORT`;
    case 'EACCES':
    case 'EPERM':
      return path
        ? `no permission to write ${path}: set DATA_DIR to a directory this user can write`
        : `no permission to listen on port ${config.port}: set PORT above 1023`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `DATA_DIR ${config.dataDir} is not a directory: set DATA_DIR to one`;
    case undefined:
      return [
        'EventStoreUnavailableError',
        'MongoUnavailableError',
        'KeyringMismatchError',
      ].includes((error as Error).name)
        ? (error as Error).message
        : `account-links could not start: ${(error as Error).message}`;
    case 'EADDRNOTAVAIL':
      return `HOST ${config.host} is not an address of this machine: set HOST`;
    default:
      return `account-links could not start: ${(error as Error).message}`;
  }
};

await main();
