import {
  assertActive,
  assertRevision,
  eraseUser as decideErase,
} from '../../domain/user.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { append, loadUser, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { guardRefOf, settleGuard } from '../settle.js';

export interface EraseUser {
  userId: string;
  expectedRevision?: number;
}

/**
 * Erases a user: the user's stream is closed with `UserErased`, then every identity and
 * the username it held are released. Erasing an erased user finishes any release left
 * undone and changes nothing else.
 */
export const eraseUser = async (
  execution: Execution,
  command: EraseUser,
): Promise<CommandResult> => {
  const erased = await retryOnConflict(execution, async () => {
    const user = await loadUser(execution, command.userId);
    if (user.state.status === 'erased') {
      // Erased already: the outcome holds, though an If-Match must still be current.
      assertRevision(user.state, command.expectedRevision);
    } else {
      assertActive(user.state);
      assertRevision(user.state, command.expectedRevision);
      await append(
        execution,
        streams.user(command.userId),
        decideErase(user.state),
        user.state.revision,
      );
    }
    return user.state;
  });

  // Every guard this user settled as its own: identities and the username.
  const held = [...erased.claims].filter(([, claim]) => claim.outcome === 'linked');
  const identities: IdentityKey[] = [];
  for (const [stream] of held) {
    const ref = guardRefOf(stream);
    if (!ref) continue;
    await settleGuard(execution, ref, { ownStep: true });
    if (ref.kind === 'identity') identities.push(ref.identity);
  }
  // What is kept outside the log: the data key, tokens and sessions. (A repeated erasure
  // does it again: the first may have been killed right after appending `UserErased`.)
  const outside = execution.services.outsideLog;
  if (outside) {
    await outside.forgetPersonalData(command.userId);
    await outside.removeTokens(identities);
    const ended = await outside.endSessions(command.userId);
    execution.services.logger.info(
      { userId: command.userId, identities: identities.length, sessions: ended },
      'erased: tokens removed and sessions ended',
    );
  }
  return resultFor(execution, command.userId, false);
};
