import { claimIdentity } from '../../domain/guard.js';
import { streams, type IdentityKey } from '../../domain/values.js';
import { append, type Execution } from '../execution.js';
import { retryOnConflict } from '../result.js';
import { settleGuard } from '../settle.js';
import { alreadyLinked } from './linkProvider.js';

/**
 * Keeps a connection without a user (`LINK_MODE=associate`, `USER_REQUIRED=false`): the
 * identity is claimed by nobody, so its token can be stored and used, and a user may take
 * it over later by linking it.
 */
export const keepUnowned = (execution: Execution, identity: IdentityKey): Promise<void> =>
  retryOnConflict(execution, async () => {
    const guard = await settleGuard(execution, { kind: 'identity', identity });
    if (guard.status === 'claimed') {
      if (guard.userId === null) return;
      throw alreadyLinked(guard.userId);
    }
    await append(
      execution,
      streams.identity(identity),
      claimIdentity(guard, identity, { userId: null, purpose: 'unowned' }),
      guard.revision,
    );
  });
