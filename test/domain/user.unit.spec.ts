import { describe, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/domain/policies.js';
import {
  absorbUser,
  abandonClaim,
  eraseUser,
  linkProvider,
  mergeInto,
  registerUser,
  setPassword,
  unlinkProvider,
  updateProfile,
} from '../../src/domain/user.js';
import { streams } from '../../src/domain/values.js';
import {
  OTHER,
  USER,
  given,
  linked,
  passwordSet,
  registered,
} from '../support/domain.js';

const profile = { displayName: 'Ann', email: 'ann@example.com', emailVerified: true };
const github = (subject: string, claimRevision = 0) => ({
  provider: 'github',
  subject,
  claimRevision,
  displayName: null,
  email: null,
  emailVerified: false,
});

describe('the user decider', () => {
  describe('registering', () => {
    it('records the user and its first identity', () =>
      given([])
        .when((user) =>
          registerUser(user, { method: 'provider', profile, identity: github('1') }),
        )
        .then([
          {
            type: 'UserRegistered',
            data: {
              userId: USER,
              method: 'provider',
              username: null,
              usernameStream: null,
              usernameClaimRevision: null,
              ...profile,
            },
          },
          { type: 'ProviderLinked', data: github('1') },
        ]));

    it('records a password user with its username claim and hash', () =>
      given([])
        .when((user) =>
          registerUser(user, {
            method: 'password',
            profile: { displayName: null, email: null, emailVerified: false },
            username: { name: 'ann', claimRevision: 0 },
            passwordHash: 'scrypt$hash',
          }),
        )
        .then([
          {
            type: 'UserRegistered',
            data: {
              userId: USER,
              method: 'password',
              username: 'ann',
              usernameStream: streams.username('ann'),
              usernameClaimRevision: 0,
              displayName: null,
              email: null,
              emailVerified: false,
            },
          },
          { type: 'PasswordSet', data: { passwordHash: 'scrypt$hash' } },
        ]));

    it('never registers a user twice', () =>
      given([registered()])
        .when((user) => registerUser(user, { method: 'provider', profile }))
        .thenRefuses('internal'));
  });

  describe('linking', () => {
    it('links an identity whose claim the user holds', () =>
      given([registered(), linked('google', 'g1')])
        .when((user) => linkProvider(user, github('1', 3), DEFAULT_POLICY))
        .then([{ type: 'ProviderLinked', data: github('1', 3) }]));

    it('does nothing when that claim is linked already', () =>
      given([registered(), linked('github', '1', 3)])
        .when((user) => linkProvider(user, github('1', 3), DEFAULT_POLICY))
        .then([]));

    it('refuses a second identity of the same provider by default', () =>
      given([registered(), linked('github', '1')])
        .when((user) => linkProvider(user, github('2'), DEFAULT_POLICY))
        .thenRefuses('provider-already-linked'));

    it('allows several per provider when the policy says so', () =>
      given([registered(), linked('github', '1')])
        .when((user) =>
          linkProvider(user, github('2'), {
            ...DEFAULT_POLICY,
            identitiesPerProvider: 2,
          }),
        )
        .then([{ type: 'ProviderLinked', data: github('2') }]));

    it('refuses a claim the user already gave up', () =>
      given([
        registered(),
        {
          type: 'ClaimAbandoned',
          data: {
            guard: 'identity',
            stream: streams.identity({ provider: 'github', subject: '1' }),
            claimRevision: 0,
          },
        },
      ])
        .when((user) => linkProvider(user, github('1', 0), DEFAULT_POLICY))
        .thenRefuses('identity-not-linked'));

    it('refuses users that do not exist, were merged or were erased', () => {
      given([])
        .when((user) => linkProvider(user, github('1'), DEFAULT_POLICY))
        .thenRefuses('user-not-found');
      given([
        registered(),
        { type: 'UserMergedInto', data: { survivorId: OTHER, identities: [] } },
      ])
        .when((user) => linkProvider(user, github('1'), DEFAULT_POLICY))
        .thenRefuses('user-merged');
      given([
        registered(),
        { type: 'UserErased', data: { identities: [], usernameStream: null } },
      ])
        .when((user) => linkProvider(user, github('1'), DEFAULT_POLICY))
        .thenRefuses('user-erased');
    });
  });

  describe('unlinking', () => {
    it('unlinks when another sign-in method remains', () =>
      given([registered(), linked('github', '1', 4), passwordSet])
        .when((user) => unlinkProvider(user, { provider: 'github', subject: '1' }))
        .then([
          {
            type: 'ProviderUnlinked',
            data: { provider: 'github', subject: '1', claimRevision: 4 },
          },
        ]));

    it('refuses to remove the last sign-in method', () =>
      given([registered(), linked('github', '1')])
        .when((user) => unlinkProvider(user, { provider: 'github', subject: '1' }))
        .thenRefuses('last-sign-in-method'));

    it('refuses an identity the user does not have before the last-method check', () =>
      given([registered(), linked('github', '1')])
        .when((user) => unlinkProvider(user, { provider: 'github', subject: '2' }))
        .thenRefuses('identity-not-linked'));

    it('compares subjects exactly', () =>
      given([registered(), linked('github', 'Ann'), passwordSet])
        .when((user) => unlinkProvider(user, { provider: 'github', subject: 'ann' }))
        .thenRefuses('identity-not-linked'));
  });

  describe('password and profile', () => {
    it('sets a password, with the username a provider user chooses for it', () =>
      given([registered()])
        .when((user) => setPassword(user, 'h', { name: 'ann', claimRevision: 0 }))
        .then([
          {
            type: 'UsernameSet',
            data: {
              username: 'ann',
              usernameStream: streams.username('ann'),
              usernameClaimRevision: 0,
            },
          },
          { type: 'PasswordSet', data: { passwordHash: 'h' } },
        ]));

    it('changes the password of a user with a username', () =>
      given([
        registered(),
        {
          type: 'UsernameSet',
          data: {
            username: 'ann',
            usernameStream: streams.username('ann'),
            usernameClaimRevision: 0,
          },
        },
        passwordSet,
      ])
        .when((user) => setPassword(user, 'h2'))
        .then([{ type: 'PasswordSet', data: { passwordHash: 'h2' } }]));

    it('refuses a password without a username to sign in with', () =>
      given([registered()])
        .when((user) => setPassword(user, 'h'))
        .thenRefuses('validation-failed'));

    it('records only the profile fields that changed', () =>
      given([registered(USER, { displayName: 'Ann' })])
        .when((user) =>
          updateProfile(user, { displayName: 'Ann', email: 'a@example.com' }),
        )
        .then([{ type: 'ProfileUpdated', data: { email: 'a@example.com' } }]));

    it('records nothing when the profile is unchanged', () =>
      given([registered(USER, { displayName: 'Ann' })])
        .when((user) => updateProfile(user, { displayName: 'Ann' }))
        .then([]));
  });

  describe('abandoning a claim', () => {
    const claim = {
      guard: 'identity' as const,
      stream: 'identity-github-MQ',
      claimRevision: 2,
    };

    it('records a claim that will never be linked, even on a stream not yet created', () =>
      given([])
        .when((user) => abandonClaim(user, claim))
        .then([{ type: 'ClaimAbandoned', data: claim }]));

    it('does nothing for a claim abandoned already', () =>
      given([{ type: 'ClaimAbandoned', data: claim }])
        .when((user) => abandonClaim(user, claim))
        .then([]));
  });

  describe('merging and erasing', () => {
    it('closes the merged user, listing the identities it had', () =>
      given([registered(), linked('github', '1')])
        .when((user) => mergeInto(user, OTHER))
        .then([
          {
            type: 'UserMergedInto',
            data: {
              survivorId: OTHER,
              identities: [{ provider: 'github', subject: '1' }],
            },
          },
        ]));

    it('does nothing when the user was merged into that survivor already', () =>
      given([
        registered(),
        { type: 'UserMergedInto', data: { survivorId: OTHER, identities: [] } },
      ])
        .when((user) => mergeInto(user, OTHER))
        .then([]));

    it('lets the survivor take the moved identities it does not hold yet', () =>
      given([registered(OTHER), linked('github', '1', 2)], OTHER)
        .when((user) =>
          absorbUser(user, USER, [
            github('1', 2),
            { ...github('2', 5), provider: 'google' },
          ]),
        )
        .then([
          {
            type: 'UsersMerged',
            data: {
              mergedId: USER,
              identities: [{ ...github('2', 5), provider: 'google' }],
            },
          },
        ]));

    it('erases a user, listing what it held', () =>
      given([registered(), linked('github', '1')])
        .when((user) => eraseUser(user))
        .then([
          {
            type: 'UserErased',
            data: {
              identities: [{ provider: 'github', subject: '1' }],
              usernameStream: null,
            },
          },
        ]));

    it('does nothing when the user is erased already', () =>
      given([
        registered(),
        { type: 'UserErased', data: { identities: [], usernameStream: null } },
      ])
        .when((user) => eraseUser(user))
        .then([]));
  });
});
