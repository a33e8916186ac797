import { isAccountLinkingError } from '../domain/errors.js';
import type { ProfileData } from '../domain/events.js';
import type { Policy } from '../domain/policies.js';
import {
  decideSignIn,
  type SignInContext,
  type SignInDecision,
  type SignInIntent,
} from '../domain/signIn.js';
import type { IdentityKey } from '../domain/values.js';
import { keepUnowned } from './commands/keepUnowned.js';
import { linkProvider } from './commands/linkProvider.js';
import { registerViaProvider } from './commands/registerViaProvider.js';
import type { CommandContext, Services } from './context.js';
import { findEmailOwner } from './emailOwner.js';
import { loadUser, startExecution, type Execution } from './execution.js';
import { settleGuard } from './settle.js';

/** A program embedding the service may decide sign-ins itself (the seed's override). */
export type SignInDecider = (
  context: SignInContext,
  policy: Policy,
) => SignInDecision | Promise<SignInDecision>;

export interface ProviderSignIn extends IdentityKey {
  profile: ProfileData;
  intent: SignInIntent;
  signedInUserId: string | null;
}

export type SignInOutcome =
  | { kind: 'signed-in'; userId: string; created: boolean; linked: boolean }
  | { kind: 'confirm-email-owner'; userId: string }
  | { kind: 'kept-unowned' }
  | { kind: 'rejected'; reason: string; holderId?: string };

/**
 * Turns a provider sign-in into commands: settle any half-done work on the identity, ask
 * the decision function, then run what it decided through the same command handling as
 * the HTTP API. The caller stores the provider's token unless the outcome is a rejection.
 */
export const signInWithProvider = async (
  services: Services,
  context: CommandContext,
  input: ProviderSignIn,
  decide: SignInDecider = decideSignIn,
): Promise<SignInOutcome> => {
  const execution = startExecution(services, context);
  const identity: IdentityKey = { provider: input.provider, subject: input.subject };

  // 1. Who holds the identity, once half-done work on it is finished (C03).
  const holder = await holderOf(execution, identity, input.profile);

  // 2. The decision, with the email owner when it could matter.
  const emailOwnerId =
    holder.status === 'free' && input.intent === 'sign-in'
      ? await findEmailOwner(execution, input.profile)
      : null;
  const decision = await decide(
    {
      identity: { ...identity, ...input.profile },
      holder,
      signedInUserId: input.signedInUserId,
      intent: input.intent,
      emailOwnerId,
    },
    services.policy,
  );

  // 3. Carry it out.
  try {
    return await apply(execution, decision, identity, input.profile);
  } catch (error) {
    if (!isAccountLinkingError(error)) throw error;
    // Lost a race to another sign-in of the same identity: its user is this person (4).
    if (error.code === 'identity-already-linked' && decision.kind === 'create') {
      return signedIn(error.details.userId as string, false, false);
    }
    return {
      kind: 'rejected',
      reason: error.code,
      holderId: error.details.userId as string | undefined,
    };
  }
};

const holderOf = async (
  execution: Execution,
  identity: IdentityKey,
  profile: ProfileData,
): Promise<SignInContext['holder']> => {
  const guard = await settleGuard(execution, { kind: 'identity', identity }, { profile });
  if (guard.status !== 'claimed') return { status: 'free' };
  if (guard.userId === null) return { status: 'unowned' };
  const owner = await loadUser(execution, guard.userId);
  // A registration still being written by its own command: its user is about to exist.
  return owner.state.status === 'active' || owner.state.status === 'none'
    ? { status: 'linked', userId: guard.userId }
    : { status: 'free' };
};

/**
 * Who holds an identity now, once half-done work on it is settled: the account a person
 * proves control of by signing in with it (the merge flow of the account page).
 */
export const identityHolder = async (
  services: Services,
  context: CommandContext,
  identity: IdentityKey,
  profile: ProfileData,
): Promise<SignInContext['holder']> =>
  holderOf(startExecution(services, context), identity, profile);

const signedIn = (userId: string, created: boolean, linked: boolean): SignInOutcome => ({
  kind: 'signed-in',
  userId,
  created,
  linked,
});

const apply = async (
  execution: Execution,
  decision: SignInDecision,
  identity: IdentityKey,
  profile: ProfileData,
): Promise<SignInOutcome> => {
  switch (decision.kind) {
    case 'sign-in':
      return signedIn(decision.userId, false, false);
    case 'link': {
      const result = await linkProvider(execution, {
        ...identity,
        userId: decision.userId,
        profile,
      });
      return signedIn(result.userId, false, result.events.length > 0);
    }
    case 'create': {
      const result = await registerViaProvider(execution, {
        ...identity,
        profile,
        ignoreEmailMatch: true,
      });
      return signedIn(result.userId, result.created, false);
    }
    case 'keep-unowned':
      await keepUnowned(execution, identity);
      return { kind: 'kept-unowned' };
    case 'confirm-email-owner':
      return { kind: 'confirm-email-owner', userId: decision.userId };
    case 'reject':
      return { kind: 'rejected', reason: decision.reason };
  }
};
