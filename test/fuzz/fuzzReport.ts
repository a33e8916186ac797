import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How much to fuzz, and the figures of a run. FUZZ_RUNS is the number of cases for each
 * store combination, shared among the properties by their weights (default 300, the
 * short form in `npm test`; `npm run test:fuzz` runs 10,000). FUZZ_SEED repeats a run.
 */
export const FUZZ_RUNS = positiveInt('FUZZ_RUNS', 300);
export const FUZZ_SEED = positiveInt('FUZZ_SEED', Math.floor(Math.random() * 2 ** 31));

/** The cases of one property: its share of FUZZ_RUNS, at least a few. */
export const runsFor = (share: number): number =>
  Math.max(3, Math.round(FUZZ_RUNS * share));

const onDouble = process.env.TEST_EVENT_STORE === 'esdb-double';
const onMongo = process.env.TEST_READ_MODEL === 'mongodb';
/** The stores the fuzzed service runs on (TEST_EVENT_STORE and TEST_READ_MODEL combine). */
export const COMBINATION = {
  project: [onDouble ? 'eventstoredb' : 'sqlite', ...(onMongo ? ['mongodb'] : [])]
    .filter((part, index, parts) => !(part === 'sqlite' && parts.length > 1))
    .join('-'),
  stores: `${onDouble ? 'EventStoreDB (double)' : 'SQLite'} log, ${
    onMongo ? 'MongoDB (FerretDB)' : 'in-memory'
  } read model`,
};

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPORT = join(ROOT, '.tmp/fuzz-report.json');
const PARTS = join(ROOT, '.tmp/fuzz');

/** What one property saw. */
export interface PropertyFigures {
  cases: number;
  /** Answers by status (the last answer of each request). */
  statuses: Record<string, number>;
  /** Answers of 500 and more that the contract does not provide for. */
  unexpected5xx: number;
  /** 5xx answers the contract provides for, by reason (see the suites). */
  documented5xx: Record<string, number>;
  /** Requests refused with a 4xx, each checked to have changed nothing. */
  refusals: number;
  /** Other things worth counting, by what they are (see the suites). */
  notes: Record<string, number>;
  failure: string | null;
  seconds: number;
}

export interface SuiteFigures {
  suite: string;
  project: string;
  stores: string;
  fuzzRuns: number;
  seed: number;
  seconds: number;
  properties: Record<string, PropertyFigures>;
}

export type Tally = ReturnType<typeof tally>;

/** Counts what the properties of one suite see. */
export const tally = (suite: string) => {
  const started = performance.now();
  const properties: Record<string, PropertyFigures> = {};
  const of = (property: string): PropertyFigures =>
    (properties[property] ??= {
      cases: 0,
      statuses: {},
      unexpected5xx: 0,
      documented5xx: {},
      refusals: 0,
      notes: {},
      failure: null,
      seconds: 0,
    });
  return {
    /** One case of a property ran. */
    test: (property: string) => {
      of(property).cases += 1;
    },
    /** One answer; `documented` names why a 5xx is one the contract provides for. */
    answer: (property: string, status: number, documented?: string) => {
      const figures = of(property);
      figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
      if (status >= 400 && status < 500) figures.refusals += 1;
      if (status < 500) return;
      if (documented) {
        figures.documented5xx[documented] = (figures.documented5xx[documented] ?? 0) + 1;
      } else figures.unexpected5xx += 1;
    },
    note: (property: string, what: string) => {
      const { notes } = of(property);
      notes[what] = (notes[what] ?? 0) + 1;
    },
    fail: (property: string, error: unknown) => {
      of(property).failure = String(error).slice(0, 4000);
    },
    took: (property: string, ms: number) => {
      of(property).seconds = Math.round(ms / 100) / 10;
    },
    figures: (): SuiteFigures => ({
      suite,
      project: COMBINATION.project,
      stores: COMBINATION.stores,
      fuzzRuns: FUZZ_RUNS,
      seed: FUZZ_SEED,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      properties,
    }),
  };
};

const sum = (figures: SuiteFigures[], pick: (p: PropertyFigures) => number): number =>
  figures
    .flatMap((suite) => Object.values(suite.properties))
    .reduce((total, property) => total + pick(property), 0);

/**
 * One line per suite and store combination on the console; the figures in
 * .tmp/fuzz-report.json, where each combination keeps the latest run of each suite.
 * Each suite writes its own part first (suites and combinations run at once), and the
 * report is put together from every part, then moved into place in one step.
 */
export const writeReport = (figures: SuiteFigures): void => {
  // Nothing ran (the service did not start): the last real figures stay.
  if (Object.keys(figures.properties).length === 0) return;
  mkdirSync(PARTS, { recursive: true });
  writeFileSync(
    join(PARTS, `${figures.project}.${figures.suite}.json`),
    `${JSON.stringify(figures, null, 2)}\n`,
  );

  const parts = readdirSync(PARTS)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(PARTS, name), 'utf8')) as SuiteFigures);
  const report: Record<string, unknown> = {};
  for (const project of [...new Set(parts.map((part) => part.project))].sort()) {
    const suites = parts.filter((part) => part.project === project);
    report[project] = {
      stores: suites[0]!.stores,
      cases: sum(suites, (p) => p.cases),
      unexpected5xx: sum(suites, (p) => p.unexpected5xx),
      documented5xx: sum(suites, (p) =>
        Object.values(p.documented5xx).reduce((a, b) => a + b, 0),
      ),
      refusals: sum(suites, (p) => p.refusals),
      failures: sum(suites, (p) => (p.failure ? 1 : 0)),
      suites: Object.fromEntries(suites.map((suite) => [suite.suite, suite])),
    };
  }
  mkdirSync(dirname(REPORT), { recursive: true });
  const next = `${REPORT}.${process.pid}`;
  writeFileSync(next, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(next, REPORT);

  const documented = Object.entries(
    Object.values(figures.properties).reduce<Record<string, number>>((all, p) => {
      for (const [reason, n] of Object.entries(p.documented5xx))
        all[reason] = (all[reason] ?? 0) + n;
      return all;
    }, {}),
  );
  console.log(
    `fuzz [${figures.suite}, ${figures.project}: ${figures.stores}]: ` +
      `${sum([figures], (p) => p.cases)} cases, ` +
      `${sum([figures], (p) => p.unexpected5xx)} unexpected 5xx, ` +
      `${sum([figures], (p) => p.refusals)} refusals (4xx), ` +
      `${sum([figures], (p) => (p.failure ? 1 : 0))} properties failed` +
      (documented.length
        ? `, documented 5xx: ${documented.map(([r, n]) => `${n} ${r}`).join(', ')}`
        : '') +
      `, ${figures.seconds} s (FUZZ_RUNS=${figures.fuzzRuns}, FUZZ_SEED=${figures.seed}); ` +
      REPORT,
  );
};

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  }
  return value;
}
