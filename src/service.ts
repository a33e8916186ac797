import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Services } from './application/context.js';
import { startReconciler } from './application/reconciler.js';
import type { Config, ServiceToken } from './config.js';
import type { EventStore } from './eventstore/port.js';
import { openSqliteEventStore } from './eventstore/sqlite.js';
import { createApp } from './http/app.js';
import { createMetrics } from './http/metrics.js';
import { createMemoryReadModel } from './projections/memory.js';
import { startProjectionRunner } from './projections/runner.js';
import { loadOrCreateDevelopmentSecrets, type DevelopmentSecrets } from './secrets.js';
import { openSqliteIdempotencyStore } from './storage/sqliteIdempotency.js';

export interface RunningService {
  url: string;
  dataDir: string;
  /** Present when the secrets were generated for development. */
  developmentSecrets: DevelopmentSecrets | null;
  services: Services;
  server: Server;
  /** Finishes in-flight requests, then closes every store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Replaces the clock (tests). */
  now?: () => Date;
  /** Replaces the SQLite event store (tests of other adapters). */
  eventStore?: EventStore;
}

export const createLogger = (level: string): Logger =>
  pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.password',
        '*.passwordHash',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  });

/**
 * Starts the service on its configuration: stores, read model (rebuilt from the log),
 * reconciler and HTTP server. Used by `npm start` and by the tests alike.
 */
export const startService = async (
  config: Config,
  options: StartOptions = {},
): Promise<RunningService> => {
  const logger = options.logger ?? createLogger(config.logLevel);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });

  // 1. Secrets: configured, or generated into the data directory for development.
  const developmentSecrets = config.serviceTokens
    ? null
    : loadOrCreateDevelopmentSecrets(dataDir);
  const tokens: ServiceToken[] = config.serviceTokens ?? [
    developmentSecrets!.serviceToken,
  ];

  // 2. Stores and the read model, which replays the log before the service is ready.
  const store =
    options.eventStore ??
    openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger });
  const idempotency = openSqliteIdempotencyStore(join(dataDir, 'service.sqlite'));
  const readModel = createMemoryReadModel();
  const metrics = createMetrics();
  const projection = await startProjectionRunner({ store, readModel, logger });

  const services: Services = {
    store,
    readModel,
    projection,
    policy: config.policy,
    logger,
    now: options.now ?? (() => new Date()),
    passwords: { cost: config.passwordHashCost },
    repairGraceMs: config.repairGraceMs,
    maxAttempts: 12,
  };

  // 3. Ready once the log is replayed and half-done work from before is settled.
  let ready = false;
  let reconciler: ReturnType<typeof startReconciler> | null = null;
  const readiness = projection.caughtUp.then(async () => {
    reconciler = startReconciler(services, logger, config.reconcileIntervalMs);
    await reconciler.firstPass;
    ready = true;
    logger.info({ position: String((await readModel.position()) ?? 0n) }, 'ready');
  });
  readiness.catch((error: unknown) => logger.error({ err: error }, 'start-up failed'));

  const purge = setInterval(
    () => {
      const before = new Date(Date.now() - config.idempotencyTtlHours * 3_600_000);
      void idempotency.purge(before).catch((error: unknown) => {
        logger.error({ err: error }, 'idempotency purge failed');
      });
    },
    60 * 60 * 1000,
  );
  purge.unref();

  const lagTimer = setInterval(() => {
    void Promise.all([readModel.position(), store.headPosition()])
      .then(([applied, head]) => metrics.projectionAt(applied, head))
      .catch(() => {});
  }, 5000);
  lagTimer.unref();

  // 4. The HTTP server.
  const app = createApp({
    services,
    idempotency,
    metrics,
    tokens,
    logger,
    isReady: () => ready,
    trustProxy: config.trustProxy,
    minPositionWaitMs: config.minPositionWaitMs,
  });
  const server = createServer(app);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, done);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(purge);
      clearInterval(lagTimer);
      // In-flight requests finish; idle keep-alive connections are closed now.
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(force);
      await readiness.catch(() => {});
      await (reconciler as ReturnType<typeof startReconciler> | null)?.stop();
      await projection.stop();
      await readModel.close();
      await idempotency.close();
      await store.close();
      logger.info('stopped');
    })());

  return {
    url: `http://${host}:${address.port}`,
    dataDir,
    developmentSecrets,
    services,
    server,
    stop,
  };
};
