/**
 * Runs the in-memory EventStoreDB double as a standalone server, for trying the service
 * against the EventStoreDB adapter where no real server can run:
 *
 *   node --import tsx scripts/eventStoreDbDouble.ts
 *
 * ESDB_DOUBLE_PORT (2113) and ESDB_DOUBLE_HOST (127.0.0.1) choose where it listens. It keeps
 * everything in memory and forgets it on exit. Stop it with Ctrl+C (SIGINT) or SIGTERM.
 */
import { startEventStoreDbDouble } from '../test/support/eventStoreDb/eventStoreDbDouble.js';

const rawPort = process.env['ESDB_DOUBLE_PORT'] ?? '2113';
const port = Number(rawPort);
const host = process.env['ESDB_DOUBLE_HOST'] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new Error(
    `ESDB_DOUBLE_PORT must be a port number from 0 to 65535, not '${rawPort}'`,
  );
}

const double = await startEventStoreDbDouble({ port, host });
console.log(`EVENTSTORE_URL=${double.connectionString}`);
console.log(
  'In-memory EventStoreDB test double: data is lost on exit. Not a real server.',
);

const stop = async (signal: NodeJS.Signals) => {
  console.log(`${signal} received, stopping the EventStoreDB double.`);
  await double.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
