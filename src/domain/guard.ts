import { AccountLinkingError } from './errors.js';
import type {
  ClaimPurpose,
  IdentityEvent,
  Recorded,
  ReleaseReason,
  UsernameEvent,
} from './events.js';
import type { IdentityKey } from './values.js';

/**
 * State of a guard stream: an identity stream or a username stream. A guard is held by
 * at most one user at a time because every claim is appended with the exact revision
 * the claimer read (invariant 1).
 */
export interface GuardState {
  revision: number;
  status: 'free' | 'claimed' | 'released';
  userId: string | null;
  previousUserId: string | null;
  claimRevision: number;
  purpose: ClaimPurpose | null;
  commandId: string | null;
  since: string | null;
}

export const initialGuard = (): GuardState => ({
  revision: -1,
  status: 'free',
  userId: null,
  previousUserId: null,
  claimRevision: -1,
  purpose: null,
  commandId: null,
  since: null,
});

export const evolveGuard = (
  state: GuardState,
  event: Recorded<IdentityEvent | UsernameEvent>,
): GuardState => {
  switch (event.type) {
    case 'IdentityClaimed':
    case 'UsernameClaimed':
      return {
        revision: event.revision,
        status: 'claimed',
        userId: event.data.userId,
        previousUserId:
          event.type === 'IdentityClaimed' ? event.data.previousUserId : null,
        claimRevision: event.revision,
        purpose: event.type === 'IdentityClaimed' ? event.data.purpose : 'register',
        commandId: event.commandId,
        since: event.time,
      };
    case 'IdentityReleased':
    case 'UsernameReleased':
      return {
        ...initialGuard(),
        revision: event.revision,
        status: 'released',
        previousUserId: event.data.userId,
        since: event.time,
      };
  }
};

export const isHeldBy = (guard: GuardState, userId: string): boolean =>
  guard.status === 'claimed' && guard.userId === userId;

/** Whether a new claim may be appended: the guard is free, or held without a user. */
export const isClaimable = (guard: GuardState): boolean =>
  guard.status !== 'claimed' || guard.userId === null;

export const claimIdentity = (
  guard: GuardState,
  identity: IdentityKey,
  claim: { userId: string | null; purpose: ClaimPurpose; previousUserId?: string | null },
): IdentityEvent[] => {
  const movingFrom = claim.previousUserId ?? null;
  const allowed =
    isClaimable(guard) ||
    (claim.purpose === 'merge' && movingFrom !== null && isHeldBy(guard, movingFrom));
  if (!allowed) {
    throw new AccountLinkingError(
      'identity-already-linked',
      `${identity.provider} identity is already linked to another user`,
      { details: { userId: guard.userId } },
    );
  }
  return [
    {
      type: 'IdentityClaimed',
      data: {
        provider: identity.provider,
        subject: identity.subject,
        userId: claim.userId,
        purpose: claim.purpose,
        previousUserId: guard.status === 'claimed' ? guard.userId : movingFrom,
      },
    },
  ];
};

/** Releases the claim made at `claimRevision`; a no-op when that claim is already gone. */
export const releaseIdentity = (
  guard: GuardState,
  identity: IdentityKey,
  claimRevision: number,
  reason: ReleaseReason,
): IdentityEvent[] =>
  guard.status === 'claimed' && guard.claimRevision === claimRevision
    ? [
        {
          type: 'IdentityReleased',
          data: {
            provider: identity.provider,
            subject: identity.subject,
            userId: guard.userId,
            reason,
          },
        },
      ]
    : [];

export const claimUsername = (guard: GuardState, userId: string): UsernameEvent[] => {
  if (guard.status === 'claimed') {
    throw new AccountLinkingError('username-taken', 'this username is already taken');
  }
  return [{ type: 'UsernameClaimed', data: { userId } }];
};

export const releaseUsername = (
  guard: GuardState,
  claimRevision: number,
  reason: ReleaseReason,
): UsernameEvent[] =>
  guard.status === 'claimed' && guard.claimRevision === claimRevision && guard.userId
    ? [{ type: 'UsernameReleased', data: { userId: guard.userId, reason } }]
    : [];
