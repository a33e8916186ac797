import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// The MongoDB project runs where a server can be had: MONGODB_URL, or FerretDB built by
// scripts/ferretdb.sh (which needs Go). CI always runs it, and fails without it.
const ferretdb = join(homedir(), '.cache/account-links/ferretdb-v1.24.2/ferretdb');
const hasGo = (): boolean => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const withMongo =
  Boolean(process.env.CI) ||
  Boolean(process.env.MONGODB_URL) ||
  existsSync(ferretdb) ||
  hasGo();

// Suites that run once more on each production store.
const SERVICE_SUITES = [
  'test/api/**/*.spec.ts',
  'test/cases/**/*.spec.ts',
  'test/oauth/**/*.spec.ts',
  // The race suite: a short form here; `npm run test:races` runs 1,000 rounds.
  'test/races/**/*.e2e.spec.ts',
  // The fuzz suites: a few hundred cases here; `npm run test:fuzz` runs 10,000.
  'test/fuzz/**/*.spec.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // A real MongoDB-wire server for the MongoDB tests: MONGODB_URL, or FerretDB.
    globalSetup: ['test/support/globalSetup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.spec.ts'] },
      },
      {
        // The service's whole HTTP contract once more, with its log in EventStoreDB
        // (through the real client, over the protocol double).
        extends: true,
        test: {
          name: 'eventstoredb',
          include: SERVICE_SUITES,
          exclude: ['test/api/lifecycle.e2e.spec.ts'],
          env: { TEST_EVENT_STORE: 'esdb-double' },
          setupFiles: ['test/support/closeDoubles.ts'],
        },
      },
      ...(withMongo
        ? [
            {
              // And with the read model, sessions and tokens in MongoDB.
              extends: true as const,
              test: {
                name: 'mongodb',
                include: SERVICE_SUITES,
                exclude: ['test/api/lifecycle.e2e.spec.ts'],
                env: { TEST_READ_MODEL: 'mongodb' },
              },
            },
          ]
        : []),
    ],
  },
});
