#!/usr/bin/env node
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { exportLog } from './audit/export.js';
import { auditData, userHistory, userStateAt } from './audit/history.js';
import { identityHistory } from './audit/identityHistory.js';
import { verifyLog } from './audit/verify.js';
import { ConfigError, loadConfig } from './config.js';
import { identityKeyOf } from './domain/values.js';
import { userView } from './http/views.js';
import { RebuildRunning, rebuildProjections } from './projections/rebuild.js';
import { connectMongo } from './storage/mongo.js';
import { openStores, type Stores } from './stores.js';

/**
 * `account-links`: audit and operations on a deployment, configured by the same
 * environment as the service (and safe to run beside it).
 */
const program = new Command()
  .name('account-links')
  .description(
    'Audit and operations on an account-links deployment (configured like the service).',
  );

/** Opens the stores as the service does (without taking the projector's lease). */
const withStores = async <T>(work: (stores: Stores) => Promise<T>): Promise<T> => {
  const config = loadConfig();
  const stores = await openStores({
    config: { ...config, runProjector: false },
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
};

const progressBar = (label: string) =>
  process.stderr.isTTY
    ? new SingleBar({
        format: `${label} |{bar}| {percentage}% | {events} events`,
        hideCursor: true,
      })
    : null;

/** A whole number of seconds, 0 to one hour. */
const seconds = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) > 3600) {
    throw new InvalidArgumentError('a whole number of seconds, at most 3600');
  }
  return Number(value);
};

const short = (id: string | null | undefined) => (id ? id.slice(0, 8) : '-');

program
  .command('history')
  .description(
    "A user's timeline (its stream and the identities it held), or its state at a time",
  )
  .argument('<userId>')
  .option('--at <time>', 'the user as it was at this ISO time (inclusive)')
  .option('--json', 'JSON lines instead of text')
  .action((userId: string, options: { at?: string; json?: boolean }) =>
    withStores(async ({ store }) => {
      if (options.at) {
        const at = new Date(options.at);
        if (Number.isNaN(at.getTime()))
          throw new ConfigError(`--at: "${options.at}" is not an ISO time`);
        const doc = await userStateAt(store, userId, at);
        if (!doc)
          throw new ConfigError(`user ${userId} did not exist at ${at.toISOString()}`);
        console.log(JSON.stringify(userView(doc), null, options.json ? undefined : 2));
        return;
      }
      const events = await userHistory(store, userId);
      if (events.length === 0) throw new ConfigError(`no user ${userId} in the log`);
      for (const event of events) {
        const { actor, flow, correlationId, time } = event.metadata;
        if (options.json) {
          console.log(
            JSON.stringify({
              position: event.position.toString(),
              stream: event.stream,
              revision: event.revision,
              type: event.type,
              data: auditData(event.data),
              metadata: event.metadata,
            }),
          );
        } else {
          console.log(
            `${time}  ${event.type.padEnd(17)} ${flow.padEnd(8)} by ${actor.padEnd(20)} ` +
              `corr ${short(correlationId)}  ${event.stream}#${event.revision}`,
          );
        }
      }
    }),
  );

program
  .command('identity')
  .description('Who has held an identity, from when to when')
  .argument('<provider>')
  .argument('<subject>')
  .option('--json', 'JSON instead of text')
  .action((provider: string, subject: string, options: { json?: boolean }) =>
    withStores(async ({ store }) => {
      const holders = await identityHistory(store, { provider, subject });
      if (holders.length === 0)
        throw new ConfigError(`${identityKeyOf({ provider, subject })} was never seen`);
      if (options.json)
        return console.log(JSON.stringify({ provider, subject, holders }));
      for (const holding of holders) {
        console.log(
          `${holding.from} .. ${holding.to ?? 'now'.padEnd(24)}  ` +
            `${holding.userId ?? '(no user)'}  ${holding.purpose}` +
            (holding.previousUserId ? ` from ${holding.previousUserId}` : '') +
            (holding.ended ? `, ended: ${holding.ended}` : ''),
        );
      }
    }),
  );

program
  .command('verify')
  .description(
    'Replay the whole log and check the invariants held at every point in time',
  )
  .option('--json', 'the report as JSON')
  .action((options: { json?: boolean }) =>
    withStores(async ({ store }) => {
      const config = loadConfig();
      const head = (await store.headPosition()) ?? 0n;
      const bar = progressBar('verifying');
      bar?.start(1000, 0, { events: 0 });
      const report = await verifyLog({
        store,
        identitiesPerProvider: config.policy.identitiesPerProvider,
        onProgress: (events, position) =>
          bar?.update(head > 0n ? Number((position * 1000n) / head) : 1000, { events }),
      });
      bar?.stop();
      if (options.json) console.log(JSON.stringify(report));
      else {
        console.log(
          `${report.events} events, ${report.users} users, ${report.identities} identities held: ` +
            (report.ok
              ? 'every invariant held'
              : `${report.violations.length} violations`),
        );
        for (const v of report.violations) {
          console.log(
            `  [${v.invariant}] ${v.type} ${v.stream}#${v.revision} @${v.position}: ${v.message}`,
          );
        }
      }
      if (!report.ok) process.exitCode = 1;
    }),
  );

program
  .command('export')
  .description('The log as JSON lines, for an external audit system')
  .option('--since <position>', 'only events after this log position')
  .action((options: { since?: string }) =>
    withStores(async ({ store }) => {
      if (options.since !== undefined && !/^\d+$/.test(options.since)) {
        throw new ConfigError('--since: a log position is a decimal number');
      }
      const since = options.since === undefined ? null : BigInt(options.since);
      for await (const event of exportLog(store, since)) {
        if (!process.stdout.write(`${JSON.stringify(event)}\n`)) {
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
      }
    }),
  );

program
  .command('rebuild-projections')
  .description(
    'Build the MongoDB read model anew from the whole log beside the one in use, then switch ' +
      'reads to it and drop the old one, while the service keeps answering.',
  )
  .addOption(
    new Option(
      '--switch-grace <seconds>',
      'time instances get to switch before the old one is dropped',
    )
      .default(5)
      .argParser(seconds),
  )
  .action((options: { switchGrace: number }) =>
    withStores(async ({ store }) => {
      const config = loadConfig();
      if (!config.mongoUrl) {
        throw new ConfigError(
          'rebuild-projections works on the MongoDB read model: set MONGODB_URL',
        );
      }
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
          switchGraceMs: options.switchGrace * 1000,
          logger: pino({ level: 'warn' }, pino.destination(2)),
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
        await client.close();
      }
    }),
  );

// A reader that stops early (`export | head`) closes the pipe: the output ends there, which
// is no error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof ConfigError || error instanceof RebuildRunning ? 2 : 1);
});
