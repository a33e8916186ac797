import type { ProfileData } from '../../domain/events.js';
import type { CommandContext, Services } from '../context.js';
import { startExecution } from '../execution.js';
import type { CommandResult } from '../result.js';
import { eraseUser } from './eraseUser.js';
import { linkProvider } from './linkProvider.js';
import { mergeUsers } from './mergeUsers.js';
import { registerLocalUser } from './registerLocalUser.js';
import { registerViaProvider } from './registerViaProvider.js';
import { setPassword } from './setPassword.js';
import { unlinkProvider } from './unlinkProvider.js';

export interface ProfileInput {
  displayName?: string | null;
  email?: string | null;
  emailVerified?: boolean;
}

/** The commands of the public API, with their validated inputs. */
export type Command =
  | {
      name: 'register-local-user';
      input: { username: string; password: string; email?: string };
    }
  | {
      name: 'register-via-provider';
      input: { provider: string; subject: string; profile: ProfileInput };
    }
  | {
      name: 'link-provider';
      input: { userId: string; provider: string; subject: string; profile: ProfileInput };
    }
  | {
      name: 'unlink-provider';
      input: { userId: string; provider: string; subject: string };
    }
  | { name: 'merge-users'; input: { survivorId: string; mergedId: string } }
  | { name: 'erase-user'; input: { userId: string } }
  // Used by the account page only; not part of the HTTP command API.
  | {
      name: 'set-password';
      input: {
        userId: string;
        password: string;
        username?: string;
        currentPassword?: string;
      };
    };

export const toProfile = (input: ProfileInput): ProfileData => ({
  displayName: input.displayName ?? null,
  email: input.email ?? null,
  emailVerified: input.emailVerified ?? false,
});

/**
 * Runs one command: the single entry point of HTTP, sign-in flows and tools. It counts
 * among the service's commands under way until it settles, whether or not anyone still
 * waits for its answer.
 */
export const runCommand = (
  services: Services,
  context: CommandContext,
  command: Command,
  expectedRevision?: number,
): Promise<CommandResult> => {
  const work = dispatch(services, context, command, expectedRevision);
  const { underWay } = services;
  if (underWay) {
    underWay.add(work);
    const settled = () => underWay.delete(work);
    work.then(settled, settled);
  }
  return work;
};

const dispatch = (
  services: Services,
  context: CommandContext,
  command: Command,
  expectedRevision?: number,
): Promise<CommandResult> => {
  const execution = startExecution(services, context);
  switch (command.name) {
    case 'register-local-user':
      return registerLocalUser(execution, {
        username: command.input.username,
        password: command.input.password,
        email: command.input.email ?? null,
      });
    case 'register-via-provider':
      return registerViaProvider(execution, {
        provider: command.input.provider,
        subject: command.input.subject,
        profile: toProfile(command.input.profile),
      });
    case 'link-provider':
      return linkProvider(execution, {
        ...command.input,
        profile: toProfile(command.input.profile),
        expectedRevision,
      });
    case 'unlink-provider':
      return unlinkProvider(execution, { ...command.input, expectedRevision });
    case 'merge-users':
      return mergeUsers(execution, { ...command.input, expectedRevision });
    case 'erase-user':
      return eraseUser(execution, { ...command.input, expectedRevision });
    case 'set-password':
      return setPassword(execution, command.input);
  }
};
