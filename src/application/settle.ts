import { setTimeout as sleep } from 'node:timers/promises';
import { AccountLinkingError } from '../domain/errors.js';
import type { ProfileData } from '../domain/events.js';
import {
  claimIdentity,
  releaseIdentity,
  releaseUsername,
  type GuardState,
} from '../domain/guard.js';
import { resolveClaim } from '../domain/pendingClaims.js';
import { abandonClaim, linkProvider, registerUser } from '../domain/user.js';
import { identityOfStream, streams, type IdentityKey } from '../domain/values.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { append, loadGuard, loadUser, type Execution } from './execution.js';

export type GuardRef =
  { kind: 'identity'; identity: IdentityKey } | { kind: 'username'; stream: string };

export interface SettleOptions {
  /**
   * What the caller knows of the person behind the identity. With it, a registration
   * left half-done is finished at once; without it, only after the grace period (and
   * then undone instead, since nobody can say who the user was).
   */
  profile?: ProfileData;
  /**
   * Give up, rather than finish, a claim this very command made and has not linked yet:
   * used when the command must fail after claiming (a failed If-Match, say).
   */
  giveUp?: boolean;
  /**
   * The caller is finishing its own command (the release after an unlink, say): its
   * events are that command's, not a repair of someone else's half-done work.
   */
  ownStep?: boolean;
}

const MAX_STEPS = 20;
// A registration claimed a moment ago is most likely being finished by its own command:
// give it this long before finishing it for it.
const PATIENCE_MS = 300;
const PAUSE_MS = 15;

/** The guard a stream name stands for, or null for any other stream. */
export const guardRefOf = (stream: string): GuardRef | null => {
  if (stream.startsWith('username-')) return { kind: 'username', stream };
  const identity = identityOfStream(stream);
  return identity ? { kind: 'identity', identity } : null;
};

export const guardStream = (ref: GuardRef): string =>
  ref.kind === 'identity' ? streams.identity(ref.identity) : ref.stream;

/**
 * Reads a guard stream and finishes or undoes whatever half-done work it shows, until
 * its claim is settled with its owner (or is fresh work of another command, left to it).
 * Returns the guard as it then stands.
 */
export const settleGuard = async (
  execution: Execution,
  ref: GuardRef,
  options: SettleOptions = {},
): Promise<GuardState> => {
  const { services } = execution;
  const stream = guardStream(ref);
  const repair = !options.ownStep;

  let waited = 0;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const guard = await loadGuard(execution, stream);
    if (guard.status !== 'claimed' || guard.userId === null) return guard;
    const owner = await loadUser(execution, guard.userId);
    const resolution = resolveClaim({
      guard: ref.kind,
      stream,
      claim: guard,
      owner: owner.state,
      provider: ref.kind === 'identity' ? ref.identity.provider : undefined,
      policy: services.policy,
    });
    const claim = {
      guard: ref.kind,
      stream,
      claimRevision: guard.claimRevision,
    } as const;
    const age = services.now().getTime() - Date.parse(guard.since ?? '');
    const ours = guard.commandId === execution.context.commandId;
    if (ours && options.giveUp && resolution.kind.startsWith('complete')) {
      await append(
        execution,
        streams.user(guard.userId),
        abandonClaim(owner.state, claim),
        owner.state.revision,
      ).catch(rethrowUnlessConflict);
      continue;
    }

    try {
      switch (resolution.kind) {
        case 'settled':
          return guard;

        case 'complete-registration':
          if (!ours && waited < PATIENCE_MS && age < PATIENCE_MS) {
            waited += PAUSE_MS;
            step -= 1;
            await sleep(PAUSE_MS);
            continue;
          }
          if (ref.kind === 'identity' && options.profile) {
            const events = registerUser(owner.state, {
              method: 'provider',
              profile: options.profile,
              identity: {
                ...ref.identity,
                ...options.profile,
                claimRevision: guard.claimRevision,
              },
            });
            await append(execution, streams.user(guard.userId), events, -1, {
              repair: repair && !ours,
            });
            continue;
          }
          // A registration of this very command (a retry) is finished by the command.
          if (ours || age < services.repairGraceMs) return guard;
          await repairLog(execution, 'abandoning a registration left half-done', stream);
          await append(
            execution,
            streams.user(guard.userId),
            abandonClaim(owner.state, claim),
            owner.state.revision,
            { repair },
          );
          continue;

        case 'complete-link': {
          const identity = (ref as { identity: IdentityKey }).identity;
          const events = linkProvider(
            owner.state,
            {
              ...identity,
              ...(options.profile ?? {
                displayName: null,
                email: null,
                emailVerified: false,
              }),
              claimRevision: guard.claimRevision,
            },
            services.policy,
          );
          await append(
            execution,
            streams.user(guard.userId),
            events,
            owner.state.revision,
            {
              repair: repair && !ours,
            },
          );
          continue;
        }

        case 'abandon':
          await append(
            execution,
            streams.user(guard.userId),
            abandonClaim(owner.state, claim),
            owner.state.revision,
            { repair },
          );
          continue;

        case 'release': {
          // An erasure killed after its `UserErased` left this claim: finish it whole.
          if (repair && resolution.reason === 'erased') {
            await finishErasure(execution, guard.userId, ref);
          }
          const events =
            ref.kind === 'identity'
              ? releaseIdentity(
                  guard,
                  ref.identity,
                  guard.claimRevision,
                  resolution.reason,
                )
              : releaseUsername(guard, guard.claimRevision, resolution.reason);
          await append(execution, stream, events, guard.revision, { repair });
          continue;
        }

        case 'transfer': {
          const survivor = await loadUser(execution, resolution.survivorId);
          if (survivor.state.status === 'erased') {
            // Erased before the merge was finished: the person's other account goes
            // with it, and then this claim is released.
            await repairLog(
              execution,
              'erasing a user merged into an erased one',
              stream,
            );
            const { eraseMergedUser } = await import('./commands/eraseUser.js');
            await eraseMergedUser(execution, guard.userId);
            continue;
          }
          const identity = (ref as { identity: IdentityKey }).identity;
          const events = claimIdentity(guard, identity, {
            userId: resolution.survivorId,
            purpose: 'merge',
            previousUserId: guard.userId,
          });
          await append(execution, stream, events, guard.revision, { repair });
          continue;
        }
      }
    } catch (error) {
      // Someone else moved the same streams on: read again and judge again.
      if (isWrongExpectedRevision(error)) continue;
      throw error;
    }
  }
  throw new AccountLinkingError('unavailable', 'too much concurrent activity; try again');
};

/**
 * What an erasure does outside the log after appending `UserErased`, done again for a
 * claim it left: the person's data key, the identity's tokens, the person's sessions.
 */
const finishErasure = async (execution: Execution, userId: string, ref: GuardRef) => {
  const outside = execution.services.outsideLog;
  if (!outside) return;
  await outside.forgetPersonalData(userId);
  if (ref.kind === 'identity') await outside.removeTokens([ref.identity]);
  await outside.endSessions(userId);
};

const rethrowUnlessConflict = (error: unknown): void => {
  if (!isWrongExpectedRevision(error)) throw error;
};

const repairLog = async (execution: Execution, message: string, stream: string) =>
  execution.services.logger.warn(
    { stream, commandId: execution.context.commandId },
    message,
  );
