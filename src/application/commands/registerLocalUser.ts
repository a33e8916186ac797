import { AccountLinkingError } from '../../domain/errors.js';
import { claimUsername } from '../../domain/guard.js';
import { initialUser, registerUser } from '../../domain/user.js';
import { streams } from '../../domain/values.js';
import { append, loadUser, type Execution } from '../execution.js';
import { assertAcceptablePassword, hashPassword } from '../passwords.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';
import { freshUserId } from './registerViaProvider.js';

export interface RegisterLocalUser {
  username: string;
  password: string;
  email: string | null;
}

/**
 * Creates a user who signs in with a username and password: claim the username stream
 * (so usernames stay unique), then write the user's stream. The password is hashed before
 * anything is written and never leaves this function in clear.
 */
export const registerLocalUser = async (
  execution: Execution,
  command: RegisterLocalUser,
): Promise<CommandResult> => {
  assertAcceptablePassword(command.password);
  const passwordHash = await hashPassword(
    command.password,
    execution.services.passwords.cost,
  );
  const stream = streams.username(command.username);

  const createUser = async (userId: string, claimRevision: number) => {
    const events = registerUser(initialUser(userId), {
      method: 'password',
      username: { name: command.username, claimRevision },
      profile: { displayName: null, email: command.email, emailVerified: false },
      passwordHash,
    });
    await append(execution, streams.user(userId), events, -1);
    return resultFor(execution, userId, true);
  };

  return retryOnConflict(execution, async () => {
    // 1. The username, with registrations that others left half-done long ago undone.
    const guard = await settleGuard(execution, { kind: 'username', stream });
    if (guard.status === 'claimed' && guard.userId !== null) {
      // Our own earlier attempt: finish it if the user was never written.
      if (guard.commandId === execution.context.commandId) {
        const owner = await loadUser(execution, guard.userId);
        if (owner.state.status === 'none') {
          return createUser(guard.userId, guard.claimRevision);
        }
        return resultFor(execution, guard.userId, true);
      }
      throw new AccountLinkingError('username-taken', 'this username is already taken');
    }

    // 2. Claim it for a new user, then create the user.
    const userId = await freshUserId(execution);
    const [claim] = await append(
      execution,
      stream,
      claimUsername(guard, userId),
      guard.revision,
    );
    return createUser(userId, claim!.revision);
  });
};
