import fc from 'fast-check';
import { it } from 'vitest';
import { FUZZ_SEED, runsFor, type Tally } from './fuzzReport.js';

/**
 * One property as a test: its share of FUZZ_RUNS cases, each judged, counted in the
 * suite's figures. The property stops itself (and fails) before the test's timeout: one
 * left running would go on changing the service under the next property.
 */
export const fuzzProperty = <T>(
  figures: Tally,
  options: { name: string; share: number; msPerCase: number; after?: () => void },
  cases: () => fc.Arbitrary<T>,
  judge: (c: T) => Promise<void>,
): void => {
  const { name } = options;
  const runs = runsFor(options.share);
  const budget = runs * options.msPerCase + 60_000;
  it(
    `${name} (${runs} cases)`,
    async () => {
      const started = performance.now();
      try {
        await fc.assert(
          fc.asyncProperty(cases(), async (c) => {
            figures.test(name);
            await judge(c);
          }),
          {
            numRuns: runs,
            seed: FUZZ_SEED,
            interruptAfterTimeLimit: budget - 15_000,
            markInterruptAsFailure: true,
          },
        );
      } catch (error) {
        figures.fail(name, error);
        throw error;
      } finally {
        figures.took(name, performance.now() - started);
        options.after?.();
      }
    },
    budget,
  );
};
