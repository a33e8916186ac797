import { AccountLinkingError } from '../../domain/errors.js';
import type { ProfileData } from '../../domain/events.js';
import { claimIdentity } from '../../domain/guard.js';
import {
  assertActive,
  assertProviderSlot,
  assertRevision,
  connectionOf,
  linkProvider as decideLink,
} from '../../domain/user.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { isWrongExpectedRevision } from '../../eventstore/port.js';
import { append, loadUser, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';

export interface LinkProvider extends IdentityKey {
  userId: string;
  profile: ProfileData;
  /** From If-Match: the user's stream must be at this revision. */
  expectedRevision?: number;
}

/**
 * Links an identity to an existing user: claim the identity stream (the uniqueness
 * guard), then record the link on the user's stream. If the second write cannot happen,
 * the claim is given up on the user's stream and released, never left dangling.
 */
export const linkProvider = (
  execution: Execution,
  command: LinkProvider,
): Promise<CommandResult> =>
  retryOnConflict(execution, async () => {
    const { policy } = execution.services;
    const identity: IdentityKey = {
      provider: command.provider,
      subject: command.subject,
    };
    const ref = { kind: 'identity', identity } as const;

    // 1. The user, refusals in the contract's order.
    let user = await loadUser(execution, command.userId);
    assertActive(user.state);
    assertRevision(user.state, command.expectedRevision);

    // 2. The identity, with any half-done work on it settled first.
    const guard = await settleGuard(execution, ref, { profile: command.profile });
    if (guard.status === 'claimed' && guard.userId !== null) {
      if (guard.userId !== command.userId) throw alreadyLinked(guard.userId);
      return resultFor(execution, command.userId, false);
    }
    // The user as read above may still show the identity, which an unlink has released
    // since (settling it may have just finished that release): decide on the user as it
    // is now, rather than refuse the link for an identity the user no longer holds.
    if (connectionOf(user.state, identity)) {
      user = await loadUser(execution, command.userId);
      assertActive(user.state);
      assertRevision(user.state, command.expectedRevision);
    }
    assertProviderSlot(user.state, identity.provider, policy);

    // 3. Claim, then link on the user's stream at the revision the checks saw.
    const [claim] = await append(
      execution,
      streams.identity(identity),
      claimIdentity(guard, identity, { userId: command.userId, purpose: 'link' }),
      guard.revision,
    );
    const linked = { ...identity, ...command.profile, claimRevision: claim!.revision };
    try {
      const events = decideLink(user.state, linked, policy);
      await append(execution, streams.user(command.userId), events, user.state.revision);
      return await resultFor(execution, command.userId, false);
    } catch (error) {
      if (!isWrongExpectedRevision(error)) throw error;
    }

    // 4. The user changed meanwhile: finish the link if it still may happen (and no
    //    If-Match forbids it), else give the claim up and say why.
    const after = await settleGuard(execution, ref, {
      profile: command.profile,
      giveUp: command.expectedRevision !== undefined,
      ownStep: true,
    });
    if (after.status === 'claimed' && after.userId === command.userId) {
      return resultFor(execution, command.userId, false);
    }
    const now = await loadUser(execution, command.userId);
    assertActive(now.state);
    assertRevision(now.state, command.expectedRevision);
    assertProviderSlot(now.state, identity.provider, policy);
    throw new AccountLinkingError(
      'unavailable',
      'the link could not be completed; try again',
    );
  });

export const alreadyLinked = (holderId: string): AccountLinkingError =>
  new AccountLinkingError(
    'identity-already-linked',
    'this identity is already linked to another user',
    { details: { userId: holderId } },
  );
