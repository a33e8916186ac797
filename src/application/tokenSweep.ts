import type { Logger } from 'pino';
import type { ReadModel } from '../projections/port.js';
import type { TokenVault } from '../storage/tokenVault.js';

// Tokens of an identity nobody holds are kept this long: a pending link (EMAIL_MATCH=
// confirm) waits up to 15 minutes for the person to sign in the existing way.
const ORPHAN_GRACE_MS = 30 * 60 * 1000;

/**
 * Removes the tokens of identities that nobody holds any more (unlinked, erased, a pending
 * link never confirmed). Tokens stored again since are kept: the identity may have been
 * claimed anew in the meantime.
 */
export const sweepTokens = async (deps: {
  vault: TokenVault;
  readModel: ReadModel;
  now: () => Date;
}): Promise<number> => {
  const cutoff = new Date(deps.now().getTime() - ORPHAN_GRACE_MS);
  let removed = 0;
  for (const { identity, updatedAt } of await deps.vault.entries()) {
    if (updatedAt >= cutoff) continue;
    const doc = await deps.readModel.getIdentity(identity);
    const held = doc !== null && (doc.status === 'linked' || doc.status === 'unowned');
    if (!held && (await deps.vault.removeIfOlder(identity, cutoff))) removed += 1;
  }
  return removed;
};

/** Sweeps now and then every `intervalMs`. */
export const startTokenSweeper = (
  deps: Parameters<typeof sweepTokens>[0] & { logger: Logger; intervalMs: number },
): { stop: () => void } => {
  const run = () =>
    sweepTokens(deps).then(
      (removed) => {
        if (removed > 0) deps.logger.info({ removed }, 'removed tokens nobody holds');
      },
      (error: unknown) => deps.logger.error({ err: error }, 'token sweep failed'),
    );
  void run();
  const timer = setInterval(run, deps.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};
