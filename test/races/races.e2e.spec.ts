import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/verify.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';
import { differencesFromReplay, readWholeLog, unexpectedHolders } from './logChecks.js';
import { RACE_PAIRS, type RoundReport } from './pairs.js';
import { raceWorld, runPool, type RaceWorld } from './raceWorld.js';

/**
 * The race suite: many rounds of the dangerous pairs of concurrent commands against a
 * real service over HTTP, each round judged by its pair's rules; then the invariant
 * checker over the whole log, and the read model against a fresh replay of the log.
 *
 * Rounds may run in epochs, each on a fresh service with a log of its own: on MongoDB
 * they do, 50 rounds to a service, because FerretDB (the tests' MongoDB) answers the read
 * model's `_id: { $in }` lookups by scanning the whole collection, so that a round costs
 * more the more rounds came before it.
 *
 * RACE_ROUNDS (default 40; `npm run test:races` runs 1000), RACE_EPOCH (rounds per
 * service), RACE_CONCURRENCY (rounds in flight at once, default 4) and RACE_SEED (the
 * timing of each round; printed) tune it. Each store combination prints a line of
 * figures and writes them to .tmp/races/<project>.json.
 */
const ON_MONGODB = process.env.TEST_READ_MODEL === 'mongodb';
const ROUNDS = positiveInt('RACE_ROUNDS', 40);
const EPOCH = positiveInt('RACE_EPOCH', ON_MONGODB ? 50 : ROUNDS);
const CONCURRENCY = positiveInt('RACE_CONCURRENCY', 4);
const SEED = positiveInt('RACE_SEED', Math.floor(Math.random() * 2 ** 31));

const COMBINATION =
  process.env.TEST_EVENT_STORE === 'esdb-double'
    ? {
        project: 'eventstoredb',
        stores: 'EventStoreDB (double) log, in-memory read model',
      }
    : ON_MONGODB
      ? { project: 'mongodb', stores: 'SQLite log, MongoDB (FerretDB) read model' }
      : { project: 'sqlite', stores: 'SQLite log, in-memory read model' };

interface Played extends RoundReport {
  round: number;
  pair: string;
  variant: string;
}

/** One service and the rounds played against it. */
interface Epoch {
  service: TestService;
  world: RaceWorld;
  played: Played[];
  seconds: number;
}

interface Figures {
  outcomeFailures: string[];
  verify: { events: number; violations: VerifyReport['violations'] } | null;
  replayDifferences: string[] | null;
  unexpectedHolders: string[] | null;
}

describe(`race suite on ${COMBINATION.stores}`, () => {
  let providers: ProviderStandIns;
  const epochs: Epoch[] = [];
  const figures: Figures = {
    outcomeFailures: [],
    verify: null,
    replayDifferences: null,
    unexpectedHolders: null,
  };

  beforeAll(async () => {
    providers = await startProviderStandIns();
  });
  afterAll(async () => {
    report(epochs, figures);
    for (const { service } of epochs) {
      await service.stop();
      removeDataDir(service);
    }
    await providers?.close();
  });

  const play = async (epoch: Epoch, round: number): Promise<void> => {
    const { world } = epoch;
    const pair = RACE_PAIRS[round % RACE_PAIRS.length]!;
    const turn = Math.floor(round / RACE_PAIRS.length);
    const variant = pair.variants[turn % pair.variants.length]!;
    let result: RoundReport;
    try {
      result = await pair.run({
        world,
        variant,
        race: world.racer(round),
        subject: (label) => `race-${round}-${label}`,
      });
    } catch (error) {
      result = {
        outcome: 'threw',
        failures: [`threw ${String(error)}`],
        users: [],
        identities: [],
        holders: [],
      };
    }
    epoch.played.push({ ...result, round, pair: pair.name, variant });
  };

  it(
    `answers ${ROUNDS} rounds of racing pairs as each pair's rules say`,
    async () => {
      for (let first = 0; first < ROUNDS; first += EPOCH) {
        const started = performance.now();
        // Rate limits are for abusers; the suite is a crowd of honest racers.
        const service = await startTestService({
          ...providers.env,
          AUTH_RATE_LIMIT_PER_MINUTE: '100000',
          API_RATE_LIMIT_PER_MINUTE: '10000000',
        });
        const epoch: Epoch = {
          service,
          world: raceWorld(service, SEED),
          played: [],
          seconds: 0,
        };
        epochs.push(epoch);
        const count = Math.min(EPOCH, ROUNDS - first);
        await runPool(count, CONCURRENCY, (index) => play(epoch, first + index));
        epoch.seconds = (performance.now() - started) / 1000;
      }
      figures.outcomeFailures = playedIn(epochs).flatMap(
        ({ round, pair, variant, failures }) =>
          failures.map((failure) => `round ${round}, ${pair} (${variant}): ${failure}`),
      );

      expect(playedIn(epochs)).toHaveLength(ROUNDS);
      expect(figures.outcomeFailures).toEqual([]);
    },
    ROUNDS * 1500 + 30_000,
  );

  it(
    'leaves logs in which the invariant checker finds no violation',
    async () => {
      const verified = { events: 0, violations: [] as VerifyReport['violations'] };
      for (const { world } of epochs) {
        const reply = await world.api.get<VerifyReport>('/api/audit/verify', {
          token: AUDITOR,
        });
        expect(reply.status).toBe(200);
        verified.events += reply.body.events;
        verified.violations.push(...reply.body.violations);
      }
      figures.verify = verified;

      expect(verified.violations).toEqual([]);
      // It checked the rounds' events, not empty logs.
      expect(verified.events).toBeGreaterThan(ROUNDS * 4);
    },
    ROUNDS * 200 + 30_000,
  );

  it(
    'shows what a fresh replay shows; every identity was held only by users its pair allows',
    async () => {
      figures.replayDifferences = [];
      figures.unexpectedHolders = [];
      for (const { service, world, played } of epochs) {
        const log = await readWholeLog(service.services.store);
        const users = [...new Set(played.flatMap((round) => round.users))];
        const identities = [
          ...new Map(
            played
              .flatMap((round) => round.identities)
              .map((identity) => [`${identity.provider}:${identity.subject}`, identity]),
          ).values(),
        ];
        figures.replayDifferences.push(
          ...(await differencesFromReplay(world.api, log, users, identities)),
        );
        figures.unexpectedHolders.push(...unexpectedHolders(log, played));
      }

      expect(figures.replayDifferences).toEqual([]);
      expect(figures.unexpectedHolders).toEqual([]);
      expect(epochs.flatMap((epoch) => epoch.played).length).toBe(ROUNDS);
    },
    ROUNDS * 200 + 30_000,
  );
});

const playedIn = (epochs: Epoch[]): Played[] => epochs.flatMap((epoch) => epoch.played);

/** One line per store combination on the console, and the details in .tmp/races/. */
const report = (epochs: Epoch[], figures: Figures): void => {
  const played = playedIn(epochs);
  const violations = figures.verify?.violations.length ?? null;
  const outcomes: Record<string, Record<string, number>> = {};
  for (const { pair, outcome } of played) {
    const tally = (outcomes[pair] ??= {});
    tally[outcome] = (tally[outcome] ?? 0) + 1;
  }
  const sent = { commands: 0, browserFlows: 0 };
  for (const { world } of epochs) {
    sent.commands += world.tally.commands + world.tally.browserFlows;
    sent.browserFlows += world.tally.browserFlows;
  }
  const seconds = epochs.map((epoch) => Math.round(epoch.seconds * 10) / 10);
  const summary = {
    project: COMBINATION.project,
    stores: COMBINATION.stores,
    rounds: played.length,
    epochs: epochs.length,
    concurrency: CONCURRENCY,
    seed: SEED,
    ...sent,
    violations,
    verifiedEvents: figures.verify?.events ?? null,
    outcomeFailures: figures.outcomeFailures.length,
    replayDifferences: figures.replayDifferences?.length ?? null,
    unexpectedHolders: figures.unexpectedHolders?.length ?? null,
    roundsSeconds: Math.round(seconds.reduce((a, b) => a + b, 0) * 10) / 10,
    secondsPerEpoch: seconds,
    outcomes,
    details: {
      violations: figures.verify?.violations ?? [],
      outcomeFailures: figures.outcomeFailures,
      replayDifferences: figures.replayDifferences ?? [],
      unexpectedHolders: figures.unexpectedHolders ?? [],
    },
  };
  mkdirSync('.tmp/races', { recursive: true });
  writeFileSync(
    `.tmp/races/${COMBINATION.project}.json`,
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  console.log(
    `race suite [${COMBINATION.project}: ${COMBINATION.stores}]: ` +
      `${summary.rounds} rounds, ${summary.commands} commands sent ` +
      `(${summary.browserFlows} of them browser sign-ins and links), ` +
      `${violations ?? '?'} violations in ${summary.verifiedEvents ?? '?'} events, ` +
      `${summary.outcomeFailures} outcome-rule failures, ` +
      `${summary.replayDifferences ?? '?'} read-model differences from a replay, ` +
      `${summary.roundsSeconds} s of rounds (seed ${SEED}); ` +
      `.tmp/races/${COMBINATION.project}.json`,
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
