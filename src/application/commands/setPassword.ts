import { AccountLinkingError } from '../../domain/errors.js';
import { claimUsername } from '../../domain/guard.js';
import { assertActive, setPassword as decideSetPassword } from '../../domain/user.js';
import { streams } from '../../domain/values.js';
import { append, loadUser, type Execution } from '../execution.js';
import { assertAcceptablePassword, hashPassword, verifyPassword } from '../passwords.js';
import { resultFor, retryOnConflict, type CommandResult } from '../result.js';
import { settleGuard } from '../settle.js';

export interface SetPassword {
  userId: string;
  password: string;
  /** Needed when the user has no username yet (it signed up through a provider). */
  username?: string;
  /** Needed to change a password the user has: who changes it must know it. */
  currentPassword?: string;
}

/**
 * Gives a user a password (another sign-in method), or changes it given the current one.
 * A user without a username claims one first, the same way a local registration does.
 */
export const setPassword = async (
  execution: Execution,
  command: SetPassword,
): Promise<CommandResult> => {
  assertAcceptablePassword(command.password);
  const current = (await loadUser(execution, command.userId)).state;
  if (current.passwordHash !== null) {
    const known =
      command.currentPassword !== undefined &&
      (await verifyPassword(command.currentPassword, current.passwordHash));
    if (!known) {
      throw new AccountLinkingError(
        'validation-failed',
        'the current password is not right',
        {
          errors: [{ path: 'currentPassword', message: 'is not right' }],
        },
      );
    }
  }
  const passwordHash = await hashPassword(
    command.password,
    execution.services.passwords.cost,
  );

  return retryOnConflict(execution, async () => {
    const user = await loadUser(execution, command.userId);
    assertActive(user.state);
    if (user.state.username !== null || !command.username) {
      const events = decideSetPassword(user.state, passwordHash);
      await append(execution, streams.user(command.userId), events, user.state.revision);
      return resultFor(execution, command.userId, false);
    }

    const stream = streams.username(command.username);
    const guard = await settleGuard(execution, { kind: 'username', stream });
    if (guard.status === 'claimed' && guard.userId !== command.userId) {
      throw new AccountLinkingError('username-taken', 'this username is already taken');
    }
    const claimRevision =
      guard.status === 'claimed'
        ? guard.claimRevision
        : (
            await append(
              execution,
              stream,
              claimUsername(guard, command.userId),
              guard.revision,
            )
          )[0]!.revision;
    const events = decideSetPassword(user.state, passwordHash, {
      name: command.username,
      claimRevision,
    });
    await append(execution, streams.user(command.userId), events, user.state.revision);
    return resultFor(execution, command.userId, false);
  });
};
