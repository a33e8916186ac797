import { AccountLinkingError } from '../../domain/errors.js';
import type { LinkedIdentity } from '../../domain/events.js';
import { claimIdentity } from '../../domain/guard.js';
import type { Policy } from '../../domain/policies.js';
import {
  absorbUser,
  assertActive,
  assertProviderSlot,
  assertRevision,
  mergeInto,
  type UserState,
} from '../../domain/user.js';
import { streams } from '../../domain/values.js';
import { isWrongExpectedRevision } from '../../eventstore/port.js';
import { append, loadGuard, loadUser, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';
import { eraseMergedUser } from './eraseUser.js';

export interface MergeUsers {
  survivorId: string;
  mergedId: string;
  /** From If-Match: the survivor's stream must be at this revision. */
  expectedRevision?: number;
}

/**
 * Merges two users: the merged user is closed first (its stream records where it went,
 * and which identities it had), then each identity is moved to the survivor on its own
 * stream, then the survivor records them all. Each step can be repeated; a merge left
 * half-done is finished by running it again or by the reconciler.
 */
export const mergeUsers = async (
  execution: Execution,
  command: MergeUsers,
): Promise<CommandResult> => {
  const { survivorId, mergedId } = command;
  if (survivorId === mergedId) {
    throw new AccountLinkingError(
      'validation-failed',
      'a user cannot be merged into itself',
      {
        errors: [{ path: 'mergedId', message: 'must differ from survivorId' }],
      },
    );
  }

  await retryOnConflict(execution, async () => {
    // 1. Both users, refusals in the contract's order.
    const survivor = await loadUser(execution, survivorId);
    const merged = await loadUser(execution, mergedId);
    for (const user of [survivor.state, merged.state]) {
      if (user.status === 'none' || user.status === 'abandoned') assertActive(user);
    }
    // Merged into this survivor already: the outcome holds; finish what may be left
    // (and if the survivor was erased meanwhile, erase the merged user with it).
    const done =
      merged.state.status === 'merged' && merged.state.mergedInto === survivorId;
    if (!(done && survivor.state.status === 'erased')) assertActive(survivor.state);
    assertRevision(survivor.state, command.expectedRevision);
    if (done) return;
    assertActive(merged.state);
    assertRoomFor(survivor.state, merged.state, execution.services.policy);

    // 2. Close the merged user; from here on the merge only moves forward.
    await append(
      execution,
      streams.user(mergedId),
      mergeInto(merged.state, survivorId),
      merged.state.revision,
    );
  });

  await moveIdentities(execution, survivorId, mergedId);
  return resultFor(execution, survivorId, false);
};

const assertRoomFor = (survivor: UserState, merged: UserState, policy: Policy): void => {
  const counts = new Map<string, number>();
  for (const { provider } of merged.connections) {
    counts.set(provider, (counts.get(provider) ?? 0) + 1);
  }
  for (const [provider, count] of counts) {
    assertProviderSlot(survivor, provider, policy, count);
  }
};

/** Steps 3 and 4: move each identity's claim, then record them on the survivor. */
const moveIdentities = async (
  execution: Execution,
  survivorId: string,
  mergedId: string,
): Promise<void> => {
  const merged = (await loadUser(execution, mergedId)).state;
  const moved: LinkedIdentity[] = [];

  for (const connection of merged.connections) {
    const stream = streams.identity(connection);
    const claimRevision = await retryOnConflict(execution, async () => {
      const guard = await loadGuard(execution, stream);
      if (guard.status === 'claimed' && guard.userId === mergedId) {
        const [claim] = await append(
          execution,
          stream,
          claimIdentity(guard, connection, {
            userId: survivorId,
            purpose: 'merge',
            previousUserId: mergedId,
          }),
          guard.revision,
        );
        return claim!.revision;
      }
      const movedHere = guard.userId === survivorId && guard.previousUserId === mergedId;
      return movedHere ? guard.claimRevision : null;
    });
    if (claimRevision !== null) {
      const { provider, subject, displayName, email, emailVerified } = connection;
      moved.push({ provider, subject, displayName, email, emailVerified, claimRevision });
    }
  }

  const recordedBy = await retryOnConflict(execution, async () => {
    const survivor = await finalSurvivor(execution, survivorId);
    if (survivor.status !== 'active') return survivor;
    // Merged on meanwhile: the last survivor records the merge, so that its erasure
    // reaches this user; the identities are settled below.
    const fitting =
      survivor.userId === survivorId
        ? moved.filter((identity) => fits(survivor, identity, moved, execution))
        : [];
    await append(
      execution,
      streams.user(survivor.userId),
      absorbUser(survivor, mergedId, fitting),
      survivor.revision,
    );
    return survivor;
  });
  // The survivor was erased meanwhile: so is the person's other account.
  if (recordedBy.status === 'erased') await eraseMergedUser(execution, mergedId);

  // Whatever did not fit (a race with another link) or went elsewhere is settled here:
  // given up and released, or moved on to the survivor's own survivor.
  for (const identity of moved) {
    try {
      await settleGuard(execution, { kind: 'identity', identity }, { ownStep: true });
    } catch (error) {
      if (!isWrongExpectedRevision(error)) throw error;
    }
  }
};

/** Where a chain of merges starting at `userId` ends. */
const finalSurvivor = async (
  execution: Execution,
  userId: string,
): Promise<UserState> => {
  let user = (await loadUser(execution, userId)).state;
  for (let hop = 0; user.status === 'merged' && hop < MAX_HOPS; hop += 1) {
    user = (await loadUser(execution, user.mergedInto!)).state;
  }
  return user;
};
const MAX_HOPS = 32;

const fits = (
  survivor: UserState,
  identity: LinkedIdentity,
  moved: LinkedIdentity[],
  execution: Execution,
): boolean => {
  const held = survivor.connections.filter(
    (c) => c.provider === identity.provider,
  ).length;
  const before = moved
    .slice(0, moved.indexOf(identity))
    .filter((m) => m.provider === identity.provider).length;
  return held + before < execution.services.policy.identitiesPerProvider;
};
