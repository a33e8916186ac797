import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORT = join(
  fileURLToPath(new URL('../..', import.meta.url)),
  '.tmp/crash-report.json',
);

/** What one store combination went through, and what the checks found. */
export interface CrashFigures {
  combination: string;
  stores: string;
  finishedAt: string;
  seed: number;
  loops: number;
  kills: number;
  starts: number;
  /** From spawning the process to a ready `/readyz`: median and slowest. */
  startSeconds: { median: number; max: number } | null;
  loadSeconds: number;
  commands: number;
  acknowledged: number;
  /** Final answers other than 2xx, by code: none is expected, each loop owns its users. */
  refused: Record<string, number>;
  /** Commands a kill cut off at least once. */
  cutByKills: number;
  /** Of those, sent again with the same key until they had their final answer. */
  retriedToAnAnswer: number;
  /** Of those, given up: their half-done work was the reconciler's to settle. */
  abandoned: number;
  /** The most kills that cut one and the same command. */
  mostCutsOfOneCommand: number;
  unfinished: number;
  retriedAnswers: Record<string, number>;
  transportErrors: number;
  logEvents: number;
  repairEvents: number;
  /** Seconds after the last start until no half-done work was left. */
  repairSeconds: number | null;
  losses: number | null;
  answerMismatches: number | null;
  expectationDifferences: number | null;
  violations: number | null;
  unsettledClaims: number | null;
  /** Personal fields of erased users still readable in the log. */
  unerasedPersonalData: number | null;
  readModelDifferences: number | null;
  lockouts: number | null;
  idempotencyDifferences: number | null;
  errorLogLines: number;
  details: Record<string, string[]>;
}

export const emptyFigures = (
  combination: { name: string; stores: string },
  run: { seed: number; loops: number },
): CrashFigures => ({
  combination: combination.name,
  stores: combination.stores,
  finishedAt: '',
  ...run,
  kills: 0,
  starts: 0,
  startSeconds: null,
  loadSeconds: 0,
  commands: 0,
  acknowledged: 0,
  refused: {},
  cutByKills: 0,
  retriedToAnAnswer: 0,
  abandoned: 0,
  mostCutsOfOneCommand: 0,
  unfinished: 0,
  retriedAnswers: {},
  transportErrors: 0,
  logEvents: 0,
  repairEvents: 0,
  repairSeconds: null,
  losses: null,
  answerMismatches: null,
  expectationDifferences: null,
  violations: null,
  unsettledClaims: null,
  unerasedPersonalData: null,
  readModelDifferences: null,
  lockouts: null,
  idempotencyDifferences: null,
  errorLogLines: 0,
  details: {},
});

/**
 * Keeps the first few findings of a kind for the report; the count says how many. A
 * kind looked at again (the claims, polled until settled) keeps only its last findings.
 */
export const note = (figures: CrashFigures, kind: string, findings: string[]): number => {
  if (findings.length > 0) figures.details[kind] = findings.slice(0, 20);
  else delete figures.details[kind];
  return findings.length;
};

/**
 * One line per store combination on the console, and the figures in
 * .tmp/crash-report.json, where each combination keeps its latest run.
 */
export const writeReport = (figures: CrashFigures): void => {
  figures.finishedAt = new Date().toISOString();
  const all = existsSync(REPORT)
    ? (JSON.parse(readFileSync(REPORT, 'utf8')) as Record<string, CrashFigures>)
    : {};
  all[figures.combination] = figures;
  mkdirSync(dirname(REPORT), { recursive: true });
  writeFileSync(REPORT, `${JSON.stringify(all, null, 2)}\n`);

  const count = (value: number | null) => (value === null ? 'unchecked' : String(value));
  console.log(
    `crash suite [${figures.combination}: ${figures.stores}]: ` +
      `${figures.kills} kills, ${figures.commands} commands, ` +
      `${figures.acknowledged} acknowledged, ${count(figures.losses)} lost, ` +
      `${count(figures.violations)} violations, ` +
      `${figures.cutByKills} cut by a kill (${figures.retriedToAnAnswer} retried to ` +
      `an answer, ${figures.abandoned} abandoned), ${figures.repairEvents} repair events, ` +
      `${count(figures.unsettledClaims)} unsettled claims, ` +
      `${count(figures.unerasedPersonalData)} personal fields of erased users readable, ` +
      `${count(figures.readModelDifferences)} read-model differences from a replay, ` +
      `${count(figures.lockouts)} lockouts, ` +
      `${count(figures.idempotencyDifferences)} idempotent replays that differ, ` +
      `${figures.loadSeconds} s under load, starts of ${figures.startSeconds?.median ?? '?'} s ` +
      `(seed ${figures.seed}); ${REPORT}`,
  );
};
