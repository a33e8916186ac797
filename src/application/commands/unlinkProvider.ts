import {
  assertActive,
  assertRevision,
  claimOutcome,
  connectionOf,
  unlinkProvider as decideUnlink,
} from '../../domain/user.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { append, loadUser, type Execution } from '../execution.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';

export interface UnlinkProvider extends IdentityKey {
  userId: string;
  expectedRevision?: number;
}

/**
 * Unlinks an identity: record it on the user's stream (where the last-method guard is
 * checked against this user's own methods), then release the identity stream.
 */
export const unlinkProvider = (
  execution: Execution,
  command: UnlinkProvider,
): Promise<CommandResult> =>
  retryOnConflict(execution, async () => {
    const identity: IdentityKey = {
      provider: command.provider,
      subject: command.subject,
    };
    const ref = { kind: 'identity', identity } as const;
    const user = await loadUser(execution, command.userId);
    assertActive(user.state);
    assertRevision(user.state, command.expectedRevision);

    // Unlinked already by an earlier command: the outcome holds; finish its release.
    const last = user.state.claims.get(streams.identity(identity));
    if (
      !connectionOf(user.state, identity) &&
      last &&
      claimOutcome(user.state, streams.identity(identity), last.claimRevision) ===
        'unlinked'
    ) {
      await settleGuard(execution, ref);
      return resultFor(execution, command.userId, false);
    }

    const events = decideUnlink(user.state, identity);
    await append(execution, streams.user(command.userId), events, user.state.revision);
    await settleGuard(execution, ref, { ownStep: true });
    // The connection's tokens go with it (tokens stored since belong to a new holder).
    await execution.services.outsideLog?.removeTokens([identity]);
    return resultFor(execution, command.userId, false);
  });
