import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { freshDatabaseUrl, mongoUrl } from './mongo.js';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from './eventStoreDb/eventStoreDbDouble.js';
import {
  startService,
  type RunningService,
  type StartOptions,
} from '../../src/service.js';

export const TOKEN = 'test-secret-for-the-api-0123456789';
export const AUDITOR = 'auditor-secret-0123456789abcdef';
export const READER = 'reader-secret-0123456789abcdef';

export const tempDir = (prefix = 'account-links-'): string =>
  mkdtempSync(join(tmpdir(), prefix));

export const testLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A configuration as the environment would give it, with test-friendly defaults. */
export const testConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({
    PORT: '0',
    DATA_DIR: tempDir(),
    SERVICE_TOKENS: `tester=${TOKEN},auditor:audit=${AUDITOR},reader:queries=${READER}`,
    PASSWORD_HASH_COST: '10',
    REPAIR_GRACE_SECONDS: '30',
    ...env,
  });

/**
 * With TEST_EVENT_STORE=esdb-double (the "eventstoredb" test project), every test service
 * keeps its log in EventStoreDB, through the real client, over a protocol double of its
 * own; the doubles close when the test file ends (test/support/closeDoubles.ts).
 */
const onDouble = process.env.TEST_EVENT_STORE === 'esdb-double';
// With TEST_READ_MODEL=mongodb (the "mongodb" project), each test service keeps its read
// model, sessions and tokens in a MongoDB database of its own.
const onMongo = process.env.TEST_READ_MODEL === 'mongodb';
const doubles: EventStoreDbDouble[] = [];

export const closeDoubles = async (): Promise<void> => {
  await Promise.all(doubles.splice(0).map((double) => double.close()));
};

export interface TestService extends RunningService {
  config: Config;
  /** Stops the service and starts it again on the same data directory. */
  restart(options?: { eventStore?: EventStore }): Promise<TestService>;
}

/**
 * A real service on a free port, over a real SQLite file in a temporary directory (or
 * EventStoreDB over a double, see above).
 */
export const startTestService = async (
  env: Record<string, string> = {},
  options: {
    eventStore?: (config: Config) => EventStore;
    config?: Config;
    now?: () => Date;
    decideSignIn?: StartOptions['decideSignIn'];
    wrapIdempotencyStore?: StartOptions['wrapIdempotencyStore'];
    /** Where the service logs (captured by tests that read the logs). */
    logger?: StartOptions['logger'];
  } = {},
): Promise<TestService> => {
  let config = options.config;
  if (!config) {
    const wantsDouble =
      onDouble && !options.eventStore && env.EVENTSTORE_URL === undefined;
    const double = wantsDouble ? await startEventStoreDbDouble() : null;
    if (double) doubles.push(double);
    const base = onMongo && env.MONGODB_URL === undefined ? mongoUrl() : null;
    if (onMongo && !base) throw new Error('the mongodb test project needs MongoDB');
    config = testConfig({
      ...env,
      ...(double ? { EVENTSTORE_URL: double.connectionString } : {}),
      ...(base ? { MONGODB_URL: freshDatabaseUrl(base) } : {}),
    });
  }
  const running = await startService(config, {
    logger: options.logger ?? testLogger(),
    eventStore: options.eventStore?.(config),
    now: options.now,
    decideSignIn: options.decideSignIn,
    wrapIdempotencyStore: options.wrapIdempotencyStore,
  });
  await waitUntilReady(running.url);
  return {
    ...running,
    config,
    restart: async (next = {}) => {
      await running.stop();
      // The same data directory, and the same EventStoreDB (double) if there is one.
      return startTestService(env, {
        ...options,
        config,
        eventStore: next.eventStore ? () => next.eventStore! : undefined,
      });
    },
  };
};

/**
 * Waits for `/readyz` by the clock, not by a number of attempts: a loaded CI machine starts a
 * service process (tsx compiling on the fly) several times slower than a quiet one.
 */
export const waitUntilReady = async (url: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`);
    if (res.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the service did not become ready within ${timeoutMs} ms`);
};

export const removeDataDir = (service: { dataDir: string }): void =>
  rmSync(service.dataDir, { recursive: true, force: true });
