import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createMemoryReadModel } from '../src/projections/memory.js';
import { startProjectionRunner } from '../src/projections/runner.js';
import { openDatabase } from '../src/storage/openDatabase.js';
import { openStores } from '../src/stores.js';

/** Reads every row of the event table and parses its JSON, nothing else: events per second. */
export const rawReplay = (dataDir: string): { events: number; seconds: number } => {
  const db = openDatabase(join(dataDir, 'events.sqlite'));
  try {
    const started = performance.now();
    let events = 0;
    for (const row of db
      .prepare<[], { data: string; metadata: string }>(
        'SELECT * FROM events ORDER BY position',
      )
      .iterate()) {
      JSON.parse(row.data);
      JSON.parse(row.metadata);
      events += 1;
    }
    return { events, seconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
  }
};

/** Rebuilds the in-memory read model from the log, as the service does at start. */
export const serviceReplay = async (
  dataDir: string,
): Promise<{ events: number; seconds: number; heapMb: number }> => {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const logger = pino({ level: 'warn' });
  const stores = await openStores({ config, logger });
  try {
    const readModel = createMemoryReadModel({
      store: stores.store,
      emailIndex: stores.side.dataKeys,
    });
    const started = performance.now();
    const runner = await startProjectionRunner({
      store: stores.store,
      readModel,
      logger,
    });
    await runner.caughtUp;
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    const head = await stores.store.headPosition();
    return {
      events: Number(head ?? 0n),
      seconds,
      heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    };
  } finally {
    await stores.close();
  }
};
