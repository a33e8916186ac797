import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
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
          include: [
            'test/api/**/*.spec.ts',
            'test/cases/**/*.spec.ts',
            'test/oauth/**/*.spec.ts',
          ],
          exclude: ['test/api/lifecycle.e2e.spec.ts'],
          env: { TEST_EVENT_STORE: 'esdb-double' },
          setupFiles: ['test/support/closeDoubles.ts'],
        },
      },
    ],
  },
});
