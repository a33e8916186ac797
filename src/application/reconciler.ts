import type { Logger } from 'pino';
import type { Services } from './context.js';
import { systemExecution } from './execution.js';
import { guardRefOf, settleGuard } from './settle.js';

export interface ReconcileReport {
  examined: number;
  repaired: number;
  failed: number;
  /** Open claims left alone because they are younger than the grace period. */
  waiting: number;
  /** When the first of those is due (the services' clock, ms), or null. */
  nextDueAt: number | null;
}

/**
 * One pass over the claims that the read model shows as open: each one older than the
 * grace period is settled (finished or undone) the same way the next command touching
 * it would. Safe to run anywhere, any number of times, next to live traffic.
 */
export const reconcileOnce = async (services: Services): Promise<ReconcileReport> => {
  const cutoff = services.now().getTime() - services.repairGraceMs;
  const open = await services.readModel.listOpenClaims();
  const report: ReconcileReport = {
    examined: 0,
    repaired: 0,
    failed: 0,
    waiting: 0,
    nextDueAt: null,
  };

  for (const claim of open) {
    const since = Date.parse(claim.since);
    if (since > cutoff) {
      report.waiting += 1;
      const due = since + services.repairGraceMs;
      report.nextDueAt = Math.min(report.nextDueAt ?? due, due);
      continue;
    }
    const ref = guardRefOf(claim.stream);
    if (!ref) continue;
    report.examined += 1;
    const execution = systemExecution(services, 'repair');
    try {
      await settleGuard(execution, ref);
      if (execution.own.size > 0) report.repaired += 1;
      else await services.readModel.dropOpenClaim(claim.stream, claim.position);
    } catch (error) {
      report.failed += 1;
      services.logger.error(
        { err: error, stream: claim.stream },
        'could not settle a claim',
      );
    }
  }
  if (report.repaired > 0 || report.failed > 0) {
    services.logger.info(
      { examined: report.examined, repaired: report.repaired, failed: report.failed },
      'reconciler pass finished',
    );
  }
  return report;
};

/**
 * Runs a pass now and then every `intervalMs` until stopped. A pass that left claims
 * alone for being young is followed by one more as soon as the first of them is due: work
 * a crash left half-done just before a restart is settled once its grace period ends, not
 * up to an interval later (an identity reads `linked` to a user that reads 404 until then).
 */
export const startReconciler = (
  services: Services,
  logger: Logger,
  intervalMs: number,
): { stop: () => Promise<void>; firstPass: Promise<ReconcileReport> } => {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let followUp: NodeJS.Timeout | null = null;
  const pass = (): Promise<ReconcileReport> => {
    const done = reconcileOnce(services);
    void done.then(scheduleFollowUp, () => {});
    return done;
  };
  const chain = () => {
    running = running
      .then(pass)
      .catch((error: unknown) => logger.error({ err: error }, 'reconciler pass failed'));
  };
  const scheduleFollowUp = (report: ReconcileReport) => {
    if (stopped || followUp !== null || report.nextDueAt === null) return;
    const inMs = Math.max(0, report.nextDueAt - services.now().getTime()) + 100;
    if (inMs >= intervalMs) return;
    followUp = setTimeout(() => {
      followUp = null;
      chain();
    }, inMs);
    followUp.unref();
  };
  const firstPass = pass();
  running = firstPass;
  const timer = setInterval(chain, intervalMs);
  timer.unref();
  return {
    firstPass,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (followUp !== null) clearTimeout(followUp);
      await running.catch(() => {});
    },
  };
};
