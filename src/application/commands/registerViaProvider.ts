import { randomUUID } from 'node:crypto';
import { AccountLinkingError } from '../../domain/errors.js';
import type { ProfileData } from '../../domain/events.js';
import { claimIdentity } from '../../domain/guard.js';
import { initialUser, registerUser } from '../../domain/user.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { findEmailOwner } from '../emailOwner.js';
import { append, derivedId, loadUser, ownEvents, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';
import { alreadyLinked, linkProvider } from './linkProvider.js';

export interface RegisterViaProvider extends IdentityKey {
  profile: ProfileData;
  /** Set when the email policy was applied already (a sign-in decision). */
  ignoreEmailMatch?: boolean;
}

/**
 * Creates a user from a provider identity (the seed's "user creation"): claim the
 * identity for a new user id, then write the user's stream. A claim left by a crash
 * between the two writes is finished by the next registration of the same identity.
 */
export const registerViaProvider = (
  execution: Execution,
  command: RegisterViaProvider,
): Promise<CommandResult> =>
  retryOnConflict(execution, async () => {
    const { policy } = execution.services;
    const identity: IdentityKey = {
      provider: command.provider,
      subject: command.subject,
    };

    // 1. Settle half-done work on the identity; our own earlier attempt is finished here.
    const guard = await settleGuard(
      execution,
      { kind: 'identity', identity },
      { profile: command.profile },
    );
    if (guard.status === 'claimed' && guard.userId !== null) {
      // Our own earlier attempt, or a registration left half-done that this command just
      // finished with its profile: either way this command created the user. (A claim
      // this command moved to a merge's survivor, settling it, created nobody.)
      const ours = guard.commandId === execution.context.commandId;
      const finishedHere = ownEvents(execution).some(
        (event) =>
          event.type === 'UserRegistered' && event.stream === streams.user(guard.userId!),
      );
      if ((ours && guard.purpose === 'register') || finishedHere) {
        return resultFor(execution, guard.userId, true);
      }
      // Our own earlier attempt linked the identity to the owner of its email.
      if (ours && guard.purpose === 'link')
        return resultFor(execution, guard.userId, false);
      throw alreadyLinked(guard.userId);
    }

    // 2. A verified email of an existing user: the EMAIL_MATCH policy decides.
    const owner = command.ignoreEmailMatch
      ? null
      : await findEmailOwner(execution, command.profile);
    if (owner !== null && policy.emailMatch === 'confirm') {
      throw new AccountLinkingError(
        'email-belongs-to-existing-user',
        'a user with this verified email exists; link the identity to that user instead',
        { details: { userId: owner } },
      );
    }
    if (owner !== null && policy.emailMatch === 'link-verified') {
      return linkProvider(execution, {
        ...identity,
        userId: owner,
        profile: command.profile,
      });
    }

    // 3. Claim for a fresh user id, then create the user.
    const userId = await freshUserId(execution);
    const [claim] = await append(
      execution,
      streams.identity(identity),
      claimIdentity(guard, identity, { userId, purpose: 'register' }),
      guard.revision,
    );
    const events = registerUser(initialUser(userId), {
      method: 'provider',
      profile: command.profile,
      identity: { ...identity, ...command.profile, claimRevision: claim!.revision },
    });
    await append(execution, streams.user(userId), events, -1);
    return resultFor(execution, userId, true);
  });

/**
 * The id derived from the command, unless an earlier attempt's registration under it was
 * undone (the stream then exists): a new one is taken instead.
 */
export const freshUserId = async (execution: Execution): Promise<string> => {
  const userId = derivedId(execution, 'user');
  if (!execution.context.idempotent) return userId;
  const existing = await loadUser(execution, userId);
  if (existing.state.status === 'none') return userId;
  const replacement = randomUUID();
  execution.ids.set('user', replacement);
  return replacement;
};
