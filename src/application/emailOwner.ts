import { AccountLinkingError } from '../domain/errors.js';
import type { ProfileData } from '../domain/events.js';
import type { Execution } from './execution.js';

/**
 * The active user whose verified email is this profile's verified email (invariant 6:
 * both sides verified). The oldest such user wins when several share it.
 */
export const findEmailOwner = async (
  execution: Execution,
  profile: ProfileData,
): Promise<string | null> => {
  if (!profile.emailVerified || !profile.email) return null;
  const { store, readModel, projection } = execution.services;

  // Read the model as of now, so a user registered a moment ago is seen. One that cannot
  // catch up in time (another instance holds the projection lease and died, say) would
  // answer "nobody": the command is refused instead, before it writes anything.
  if (!readModel.readsCurrent) {
    const head = await store.headPosition();
    if (head !== null && !(await projection.waitFor(head, 2000))) {
      throw new AccountLinkingError(
        'projection-lagging',
        'the read model is behind the log, so the owner of this email cannot be told yet; retry in a moment',
      );
    }
  }

  const owners = (await readModel.findUsersByEmail(profile.email))
    .filter((user) => user.emailVerified)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return owners[0]?.userId ?? null;
};
