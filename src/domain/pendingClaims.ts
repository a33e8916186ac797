import type { GuardState } from './guard.js';
import type { ReleaseReason } from './events.js';
import type { Policy } from './policies.js';
import { claimOutcome, type UserState } from './user.js';

/**
 * What to do about a guard claim, judged from the claim and its owner's stream.
 *
 * Multi-stream commands claim the guard first and write the user second, so a crash in
 * between leaves a claim its owner never settled. The owner's stream decides every such
 * case: a claim is linked there, or given up there (`ClaimAbandoned`, an unlink, the
 * owner's end), and only then released. Whoever notices the half-done work (the next
 * command, a sign-in, the reconciler) applies this resolution, so it is repeatable and
 * any number of them may race (invariant 5).
 */
export type ClaimResolution =
  | { kind: 'settled' }
  | { kind: 'complete-registration' }
  | { kind: 'complete-link' }
  | { kind: 'abandon' }
  | { kind: 'release'; reason: ReleaseReason }
  | { kind: 'transfer'; survivorId: string };

export const resolveClaim = (input: {
  guard: 'identity' | 'username';
  stream: string;
  claim: GuardState;
  owner: UserState | null;
  provider?: string;
  policy: Policy;
}): ClaimResolution => {
  const { claim, owner } = input;
  if (claim.status !== 'claimed' || claim.userId === null || owner === null) {
    return { kind: 'settled' };
  }
  const outcome = claimOutcome(owner, input.stream, claim.claimRevision);

  switch (owner.status) {
    case 'none':
      return claim.purpose === 'register'
        ? { kind: 'complete-registration' }
        : { kind: 'release', reason: 'abandoned' };
    case 'abandoned':
      return { kind: 'release', reason: 'abandoned' };
    case 'erased':
      return { kind: 'release', reason: 'erased' };
    case 'merged':
      if (input.guard === 'username' || outcome !== 'linked') {
        return outcome === 'linked'
          ? { kind: 'settled' }
          : { kind: 'release', reason: 'abandoned' };
      }
      return { kind: 'transfer', survivorId: owner.mergedInto as string };
    case 'active':
      if (outcome === 'linked') return { kind: 'settled' };
      if (outcome === 'unlinked') return { kind: 'release', reason: 'unlinked' };
      if (outcome === 'abandoned') return { kind: 'release', reason: 'abandoned' };
      if (input.guard === 'username') return { kind: 'abandon' };
      return hasSlot(owner, input.provider ?? '', input.policy)
        ? { kind: 'complete-link' }
        : { kind: 'abandon' };
  }
};

const hasSlot = (owner: UserState, provider: string, policy: Policy): boolean =>
  owner.connections.filter((c) => c.provider === provider).length <
  policy.identitiesPerProvider;
