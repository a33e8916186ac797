import type { Logger } from 'pino';
import type { Services } from './context.js';
import { systemExecution } from './execution.js';
import { guardRefOf, settleGuard } from './settle.js';

export interface ReconcileReport {
  examined: number;
  repaired: number;
  failed: number;
}

/**
 * One pass over the claims that the read model shows as open: each one older than the
 * grace period is settled (finished or undone) the same way the next command touching
 * it would. Safe to run anywhere, any number of times, next to live traffic.
 */
export const reconcileOnce = async (services: Services): Promise<ReconcileReport> => {
  const cutoff = services.now().getTime() - services.repairGraceMs;
  const open = await services.readModel.listOpenClaims();
  const report: ReconcileReport = { examined: 0, repaired: 0, failed: 0 };

  for (const claim of open) {
    if (Date.parse(claim.since) > cutoff) continue;
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
    services.logger.info(report, 'reconciler pass finished');
  }
  return report;
};

/** Runs a pass now and then every `intervalMs` until stopped. */
export const startReconciler = (
  services: Services,
  logger: Logger,
  intervalMs: number,
): { stop: () => Promise<void>; firstPass: Promise<ReconcileReport> } => {
  let running: Promise<unknown> = Promise.resolve();
  const firstPass = reconcileOnce(services);
  running = firstPass;
  const timer = setInterval(() => {
    running = running
      .then(() => reconcileOnce(services))
      .catch((error: unknown) => logger.error({ err: error }, 'reconciler pass failed'));
  }, intervalMs);
  timer.unref();
  return {
    firstPass,
    stop: async () => {
      clearInterval(timer);
      await running.catch(() => {});
    },
  };
};
