import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../src/domain/policies.js';
import { decideSignIn, type SignInContext } from '../../src/domain/signIn.js';
import { OTHER, USER } from '../support/domain.js';

const context = (overrides: Partial<SignInContext> = {}): SignInContext => ({
  identity: {
    provider: 'github',
    subject: '1',
    displayName: null,
    email: 'ann@example.com',
    emailVerified: true,
  },
  holder: { status: 'free' },
  signedInUserId: null,
  intent: 'sign-in',
  emailOwnerId: null,
  ...overrides,
});
const policy = (overrides: Partial<Policy> = {}): Policy => ({
  ...DEFAULT_POLICY,
  ...overrides,
});

describe('the sign-in decision', () => {
  it('signs a known identity in as its user', () => {
    expect(
      decideSignIn(context({ holder: { status: 'linked', userId: USER } }), policy()),
    ).toEqual({ kind: 'sign-in', userId: USER });
  });

  it('creates a user for an unknown identity in create mode', () => {
    expect(decideSignIn(context(), policy())).toEqual({ kind: 'create' });
  });

  it('never links silently when someone is signed in and signs in again', () => {
    expect(decideSignIn(context({ signedInUserId: OTHER }), policy())).toEqual({
      kind: 'create',
    });
    expect(
      decideSignIn(context({ signedInUserId: OTHER }), policy({ linkMode: 'associate' })),
    ).toEqual({ kind: 'reject', reason: 'link-explicitly' });
  });

  it('links on the explicit link action, to the signed-in user only', () => {
    expect(
      decideSignIn(context({ intent: 'link', signedInUserId: USER }), policy()),
    ).toEqual({
      kind: 'link',
      userId: USER,
    });
    expect(decideSignIn(context({ intent: 'link' }), policy())).toEqual({
      kind: 'reject',
      reason: 'sign-in-first',
    });
    expect(
      decideSignIn(
        context({
          intent: 'link',
          signedInUserId: USER,
          holder: { status: 'linked', userId: OTHER },
        }),
        policy(),
      ),
    ).toEqual({ kind: 'reject', reason: 'identity-already-linked' });
  });

  it('asks the owner of a verified email to confirm by default', () => {
    expect(decideSignIn(context({ emailOwnerId: USER }), policy())).toEqual({
      kind: 'confirm-email-owner',
      userId: USER,
    });
  });

  it('links to the email owner with link-verified, creates with separate', () => {
    expect(
      decideSignIn(
        context({ emailOwnerId: USER }),
        policy({ emailMatch: 'link-verified' }),
      ),
    ).toEqual({ kind: 'link', userId: USER });
    expect(
      decideSignIn(context({ emailOwnerId: USER }), policy({ emailMatch: 'separate' })),
    ).toEqual({ kind: 'create' });
  });

  it('ignores an email owner when the new email is not verified', () => {
    const unverified = context({
      emailOwnerId: USER,
      identity: { ...context().identity, emailVerified: false },
    });
    expect(decideSignIn(unverified, policy({ emailMatch: 'link-verified' }))).toEqual({
      kind: 'create',
    });
  });

  it('in associate mode, refuses or keeps the connection without a user', () => {
    expect(decideSignIn(context(), policy({ linkMode: 'associate' }))).toEqual({
      kind: 'reject',
      reason: 'sign-in-first',
    });
    expect(
      decideSignIn(context(), policy({ linkMode: 'associate', userRequired: false })),
    ).toEqual({ kind: 'keep-unowned' });
  });
});
