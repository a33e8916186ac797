import {
  assertActive,
  assertRevision,
  eraseUser as decideErase,
  type UserState,
} from '../../domain/user.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { append, loadGuard, loadUser, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { guardRefOf, settleGuard } from '../settle.js';

export interface EraseUser {
  userId: string;
  expectedRevision?: number;
}

/**
 * Erases a user: the user's stream is closed with `UserErased`, then every identity and
 * the username it held are released. The users merged into it are the same person and
 * are erased with it, each in turn. Erasing an erased user finishes whatever was left
 * undone (a release, a merged user) and changes nothing else.
 */
export const eraseUser = async (
  execution: Execution,
  command: EraseUser,
): Promise<CommandResult> => {
  await eraseWithMerged(execution, command.userId, (user) => {
    // Erased already: the outcome holds, though an If-Match must still be current.
    if (user.status !== 'erased') assertActive(user);
    assertRevision(user, command.expectedRevision);
  });
  return resultFor(execution, command.userId, false);
};

/**
 * Erases a user merged into one being erased (or erased meanwhile, see mergeUsers), with
 * those merged into it in turn.
 */
export const eraseMergedUser = (execution: Execution, userId: string): Promise<void> =>
  eraseWithMerged(execution, userId, () => {});

const eraseWithMerged = async (
  execution: Execution,
  userId: string,
  check: (user: UserState) => void,
): Promise<void> => {
  const pending = [userId];
  const seen = new Set(pending);
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    // Only the user asked for is checked; those merged into it go with it.
    const erased = await eraseOne(execution, next, next === userId ? check : () => {});
    for (const merged of erased.absorbed) {
      if (seen.has(merged)) continue;
      seen.add(merged);
      pending.push(merged);
    }
  }
};

const eraseOne = async (
  execution: Execution,
  userId: string,
  check: (user: UserState) => void,
): Promise<UserState> => {
  const erased = await retryOnConflict(execution, async () => {
    const user = await loadUser(execution, userId);
    check(user.state);
    await append(
      execution,
      streams.user(userId),
      decideErase(user.state, { merged: true }),
      user.state.revision,
    );
    return user.state;
  });
  if (erased.status === 'none' || erased.status === 'abandoned') return erased;

  // Every guard this user settled as its own: identities and the username. An identity
  // claimed by someone else since is theirs, tokens and all: a merged user's went to its
  // survivor (unless the merge was left half-done), and one released by an earlier run
  // of this erasure may have been claimed again.
  const identities: IdentityKey[] = [];
  for (const [stream, claim] of erased.claims) {
    const ref = guardRefOf(stream);
    if (!ref || claim.outcome !== 'linked') continue;
    if (ref.kind === 'identity') {
      const guard = await loadGuard(execution, stream);
      if (guard.status === 'claimed' && guard.userId !== userId) continue;
    }
    await settleGuard(execution, ref, { ownStep: true });
    if (ref.kind === 'identity') identities.push(ref.identity);
  }
  // What is kept outside the log: the data key, tokens and sessions. (A repeated erasure
  // does it again: the first may have been killed right after appending `UserErased`.)
  const outside = execution.services.outsideLog;
  if (outside) {
    await outside.forgetPersonalData(userId);
    await outside.removeTokens(identities);
    const ended = await outside.endSessions(userId);
    execution.services.logger.info(
      { userId, identities: identities.length, sessions: ended },
      'erased: tokens removed and sessions ended',
    );
  }
  return erased;
};
