import type { ProfileData } from './events.js';
import type { Policy } from './policies.js';
import type { IdentityKey } from './values.js';

/** What the person asked for: a plain sign-in, or linking to the signed-in user. */
export type SignInIntent = 'sign-in' | 'link';

export interface SignInContext {
  identity: IdentityKey & ProfileData;
  /** Who holds the identity now, after any half-done work on it was settled. */
  holder:
    { status: 'free' } | { status: 'unowned' } | { status: 'linked'; userId: string };
  signedInUserId: string | null;
  intent: SignInIntent;
  /** An active user whose verified email is the identity's verified email, if any. */
  emailOwnerId: string | null;
}

export type SignInRefusal =
  'identity-already-linked' | 'sign-in-first' | 'link-explicitly' | 'rejected-by-policy';

export type SignInDecision =
  | { kind: 'sign-in'; userId: string }
  | { kind: 'link'; userId: string }
  | { kind: 'create' }
  | { kind: 'keep-unowned' }
  | { kind: 'confirm-email-owner'; userId: string }
  | { kind: 'reject'; reason: SignInRefusal; message?: string };

/**
 * The default sign-in decision. A program embedding the service may replace it with its
 * own function of the same shape (the seed's signal override).
 */
export const decideSignIn = (context: SignInContext, policy: Policy): SignInDecision => {
  const { holder, signedInUserId, intent } = context;

  if (intent === 'link') {
    if (signedInUserId === null) return { kind: 'reject', reason: 'sign-in-first' };
    if (holder.status === 'linked') {
      return holder.userId === signedInUserId
        ? { kind: 'sign-in', userId: signedInUserId }
        : { kind: 'reject', reason: 'identity-already-linked' };
    }
    return { kind: 'link', userId: signedInUserId };
  }

  // A known identity signs its user in, whoever was signed in before.
  if (holder.status === 'linked') return { kind: 'sign-in', userId: holder.userId };

  if (policy.linkMode === 'associate') {
    // Linking is always an explicit action, never a side effect of signing in.
    if (signedInUserId !== null) return { kind: 'reject', reason: 'link-explicitly' };
    return policy.userRequired
      ? { kind: 'reject', reason: 'sign-in-first' }
      : { kind: 'keep-unowned' };
  }

  const emailOwner = context.identity.emailVerified ? context.emailOwnerId : null;
  if (emailOwner !== null) {
    if (policy.emailMatch === 'confirm') {
      return { kind: 'confirm-email-owner', userId: emailOwner };
    }
    if (policy.emailMatch === 'link-verified')
      return { kind: 'link', userId: emailOwner };
  }
  return { kind: 'create' };
};
