#!/usr/bin/env node
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { connectEventStoreDb } from './eventstore/eventStoreDb.js';
import type { EventStore } from './eventstore/port.js';
import { openSqliteEventStore } from './eventstore/sqlite.js';
import { rebuildProjections } from './projections/rebuild.js';
import { connectMongo } from './storage/mongo.js';
import { join, resolve } from 'node:path';

/** `account-links`: operations on the service's stores, configured like the service. */
const program = new Command()
  .name('account-links')
  .description(
    'Operations on an account-links deployment (configured by the same environment).',
  );

const openLog = async (config: Config): Promise<EventStore> => {
  const logger = pino({ level: 'warn' });
  return config.eventStoreUrl
    ? connectEventStoreDb({ connectionString: config.eventStoreUrl, logger })
    : openSqliteEventStore({
        file: join(resolve(config.dataDir), 'events.sqlite'),
        logger,
      });
};

program
  .command('rebuild-projections')
  .description(
    'Build the MongoDB read model anew from the whole log beside the one in use, then switch ' +
      'reads to it and drop the old one, while the service keeps answering.',
  )
  .option(
    '--switch-grace <seconds>',
    'time instances get to switch before the old one is dropped',
    '5',
  )
  .action(async (options: { switchGrace: string }) => {
    const config = loadConfig();
    if (!config.mongoUrl) {
      throw new ConfigError(
        'rebuild-projections works on the MongoDB read model: set MONGODB_URL',
      );
    }
    const store = await openLog(config);
    const { client, db } = await connectMongo(config.mongoUrl);
    const bar = new SingleBar({
      format: 'rebuilding |{bar}| {percentage}% | {events} events',
      hideCursor: true,
    });
    bar.start(1000, 0, { events: 0 });
    try {
      const result = await rebuildProjections({
        db,
        store,
        switchGraceMs: Number(options.switchGrace) * 1000,
        onProgress: ({ events, fraction }) =>
          bar.update(Math.round(fraction * 1000), { events }),
      });
      bar.update(1000);
      bar.stop();
      console.log(
        `read model v${result.to} built from ${result.events} events; v${result.from} dropped`,
      );
    } finally {
      bar.stop();
      await store.close();
      await client.close();
    }
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof ConfigError ? 2 : 1);
});
