import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/eventstore/port.js';
import { mongoUrl } from '../support/mongo.js';
import { referenceReplay } from '../support/replay.js';
import { AUDITOR, TOKEN, tempDir } from '../support/service.js';
import { startLoad } from './commandLoad.js';
import { seededRandom, type ExpectedUser, type SentCommand } from './commandMix.js';
import {
  expectationDifferences,
  exportedLog,
  idempotencyDifferences,
  lockedOut,
  lostCommands,
  readModelDifferences,
  unerasedPersonalData,
  unsettledClaims,
  verifyReport,
  type Replay,
} from './crashChecks.js';
import { emptyFigures, note, writeReport, type CrashFigures } from './crashReport.js';
import { killedService, type KilledService } from './killedService.js';
import {
  COMBINATIONS,
  prepareStores,
  type PreparedStores,
  type StoreCombination,
} from './storeCombinations.js';

/**
 * The crash suite: the service, as its own process under a steady load of commands, is
 * killed with SIGKILL at random moments and started again on the same data directory and
 * environment. Then: every acknowledged command is in the log, the invariant checker finds
 * nothing, half-done work is repaired (erasures included), the read model shows what a
 * fresh replay shows, nobody is locked out, and every acknowledged command answers the
 * same when sent again.
 *
 * KILLS (default 5; `npm run test:crash` makes 50), CRASH_STORES (comma-separated store
 * combinations, or `all`; default `sqlite`, and `npm run test:crash` adds
 * `eventstoredb-mongodb`), CRASH_LOOPS (client loops, default 4),
 * CRASH_ABANDON (share of cut-off commands given up rather than retried, default 0.25)
 * and CRASH_SEED tune it. Figures go to the console and to .tmp/crash-report.json.
 */
const KILLS = positiveInt('KILLS', 5);
const LOOPS = positiveInt('CRASH_LOOPS', 4);
const SEED = positiveInt('CRASH_SEED', Math.floor(Math.random() * 2 ** 31));
const ABANDON_SHARE = Number(process.env.CRASH_ABANDON ?? 0.25);
const WANTED = (process.env.CRASH_STORES ?? 'sqlite').split(',').map((s) => s.trim());
const SELECTED = COMBINATIONS.filter(
  ({ name }) => WANTED.includes('all') || WANTED.includes(name),
);
if (SELECTED.length === 0) {
  throw new Error(
    `CRASH_STORES names no store combination: use all, or some of ` +
      COMBINATIONS.map(({ name }) => name).join(', '),
  );
}
// Half-done work is repaired two seconds after it was left, and looked for every second:
// about as long as a restart takes, so that some of it is finished by the retried command
// itself and some by the reconciler's pass at start.
const REPAIR_GRACE_SECONDS = 2;
const RECONCILE_INTERVAL_SECONDS = 1;

const mongo = SELECTED.some((c) => c.mongo) ? mongoUrl() : null;

describe.each(SELECTED)('crash suite on $stores', (combination: StoreCombination) => {
  const unavailable = combination.mongo && !mongo;
  if (unavailable) console.warn(`crash suite: no MongoDB, ${combination.name} skipped`);

  const figures: CrashFigures = emptyFigures(combination, { seed: SEED, loops: LOOPS });
  const dataDir = tempDir('account-links-crash-');
  let stores: PreparedStores | null = null;
  let service: KilledService;
  let url = '';
  let acknowledged: SentCommand[] = [];
  let expected: ExpectedUser[] = [];
  let log: StoredEvent[] = [];
  let replay: Replay;

  beforeAll(async () => {
    if (unavailable) return;
    stores = await prepareStores(combination, mongo);
    service = killedService({
      PORT: '0',
      DATA_DIR: dataDir,
      SERVICE_TOKENS: `crash-load:commands+queries=${TOKEN},auditor:queries+audit=${AUDITOR}`,
      REPAIR_GRACE_SECONDS: String(REPAIR_GRACE_SECONDS),
      RECONCILE_INTERVAL_SECONDS: String(RECONCILE_INTERVAL_SECONDS),
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      ...stores.env,
    });
  });

  afterAll(async () => {
    if (unavailable || !stores) return;
    figures.errorLogLines = note(figures, 'errorLogLines', errorLines(service.output()));
    writeReport(figures);
    await service.kill('SIGTERM');
    await stores.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(unavailable)(
    `keeps every acknowledged command through ${KILLS} SIGKILLs under load`,
    async () => {
      // Its own sequence: the first client loop draws from SEED itself.
      const random = seededRandom(SEED + 1_000_003);
      const started = performance.now();
      await service.start();
      const load = startLoad({
        service,
        token: TOKEN,
        loops: LOOPS,
        seed: SEED,
        tag: `${combination.name}-${SEED.toString(36)}`,
        abandonShare: ABANDON_SHARE,
      });

      // 1. Kill at a random moment after the load resumed; start again, wait for /readyz.
      try {
        for (let kill = 0; kill < KILLS; kill += 1) {
          await sleep(100 + random() * 1400);
          await service.kill('SIGKILL');
          figures.kills += 1;
          await service.start();
        }
        await sleep(300);
      } catch (error) {
        service.abandonWaiters(error as Error);
        throw new Error(`${String(error)}\n${service.output().slice(-4000)}`, {
          cause: error,
        });
      }

      // 2. No new commands; the ones cut off by the last kill get their answers.
      expected = await load.stop();
      figures.loadSeconds = round((performance.now() - started) / 1000);
      figures.starts = service.starts();
      const starts = service.startSeconds().sort((a, b) => a - b);
      figures.startSeconds = {
        median: round(starts[Math.floor(starts.length / 2)]!),
        max: round(starts.at(-1)!),
      };
      url = (await service.up()).url;
      tallyLoad(figures, load.sent, load.tally);
      acknowledged = load.sent.filter((c) => c.status !== null && c.status < 300);

      // 3. The log, once the reconciler has had time to settle what was left half-done.
      const settled = performance.now();
      for (;;) {
        log = await exportedLog(url, AUDITOR);
        replay = referenceReplay(log);
        const unsettled = unsettledClaims(log, replay);
        figures.unsettledClaims = note(figures, 'unsettledClaims', unsettled);
        if (unsettled.length === 0 || performance.now() - settled > 20_000) break;
        await sleep(500);
      }
      if (figures.unsettledClaims === 0) {
        figures.repairSeconds = round((performance.now() - settled) / 1000);
      }
      figures.logEvents = log.length;
      figures.repairEvents = log.filter((e) => e.metadata.flow === 'repair').length;

      const { losses, mismatches } = lostCommands(acknowledged, log);
      figures.losses = note(figures, 'losses', losses);
      figures.answerMismatches = note(figures, 'answerMismatches', mismatches);
      const undone = expectationDifferences(expected, replay);
      figures.expectationDifferences = note(figures, 'expectationDifferences', undone);

      expect(figures.kills).toBe(KILLS);
      // The load went on between the kills: most starts answered commands.
      const answering = new Set(acknowledged.map((c) => c.answeredBy));
      expect(answering.size).toBeGreaterThan(figures.starts / 2);
      expect(losses).toEqual([]);
      expect(undone).toEqual([]);
      expect(mismatches).toEqual([]);
      expect(figures.details.refused ?? []).toEqual([]);
      expect(figures.unfinished).toBe(0);
    },
    // A start with MongoDB waits for the killed process's projection lease to expire.
    KILLS * (combination.mongo ? 30_000 : 10_000) + 120_000,
  );

  it.skipIf(unavailable)('leaves a log in which verify finds no violation', async () => {
    const report = await verifyReport(url, AUDITOR);
    figures.violations = note(
      figures,
      'violations',
      report.violations.map((v) => `${v.invariant}: ${v.message} (${v.stream})`),
    );

    expect(report.violations).toEqual([]);
    expect(report.events).toBe(log.length);
  });

  it.skipIf(unavailable)('leaves no half-done work once the reconciler ran', () => {
    expect(figures.details.unsettledClaims ?? []).toEqual([]);
    expect(figures.unsettledClaims).toBe(0);
  });

  it.skipIf(unavailable)('finishes every erasure: no erased person is readable', () => {
    const readable = unerasedPersonalData(log);
    figures.unerasedPersonalData = note(figures, 'unerasedPersonalData', readable);

    expect(readable).toEqual([]);
  });

  it.skipIf(unavailable)(
    'answers every user and identity query as a fresh replay of the log does',
    async () => {
      const differences = await readModelDifferences(url, AUDITOR, log, replay);
      figures.readModelDifferences = note(figures, 'readModelDifferences', differences);

      expect(differences).toEqual([]);
    },
    60_000,
  );

  it.skipIf(unavailable)(
    'locks nobody out: every active user takes commands and its identities find it',
    async () => {
      const problems = await lockedOut(url, TOKEN, log, replay);
      figures.lockouts = note(figures, 'lockouts', problems);
      const after = await exportedLog(url, AUDITOR);

      expect(problems).toEqual([]);
      expect(after.length).toBe(log.length);
    },
    60_000,
  );

  it.skipIf(unavailable)(
    'answers every acknowledged command sent again with its key as it did the first time',
    async () => {
      const differences = await idempotencyDifferences(url, TOKEN, acknowledged);
      figures.idempotencyDifferences = note(
        figures,
        'idempotencyDifferences',
        differences,
      );
      const after = await exportedLog(url, AUDITOR);

      expect(differences).toEqual([]);
      expect(after.length).toBe(log.length);
    },
    60_000,
  );
});

const tallyLoad = (
  figures: CrashFigures,
  sent: SentCommand[],
  tally: ReturnType<typeof startLoad>['tally'],
): void => {
  const refusals: string[] = [];
  for (const command of sent) {
    const code = String(command.answer?.code ?? command.status);
    if (command.status !== null && command.status >= 300) {
      figures.refused[code] = (figures.refused[code] ?? 0) + 1;
      refusals.push(`#${command.seq} ${command.name}: ${JSON.stringify(command.answer)}`);
    }
  }
  figures.commands = sent.length;
  figures.acknowledged = sent.filter((c) => c.status !== null && c.status < 300).length;
  figures.cutByKills = sent.filter((c) => c.cut > 0).length;
  figures.retriedToAnAnswer = sent.filter((c) => c.cut > 0 && c.status !== null).length;
  figures.abandoned = sent.filter((c) => c.abandoned).length;
  figures.mostCutsOfOneCommand = Math.max(0, ...sent.map((c) => c.cut));
  figures.unfinished = tally.unfinished;
  figures.retriedAnswers = tally.retriedAnswers;
  figures.transportErrors = note(figures, 'transportErrors', tally.transportErrors);
  note(figures, 'refused', refusals);
};

const round = (seconds: number): number => Math.round(seconds * 10) / 10;

/** Log lines at level error (50) or above: pino writes JSON lines. */
const errorLines = (output: string): string[] =>
  output.split('\n').filter((line) => /"level":(5\d|60)/.test(line));

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  }
  return value;
}
