import { AccountLinkingError } from './errors.js';
import {
  linkedIdentity,
  type LinkedIdentity,
  type ProfileData,
  type Recorded,
  type UserEvent,
} from './events.js';
import type { Policy } from './policies.js';
import { sameIdentity, streams, type IdentityKey } from './values.js';

export interface Connection extends LinkedIdentity {
  linkedAt: string;
}

/** What the user stream says about one claim on a guard stream. */
export interface ClaimOutcome {
  claimRevision: number;
  outcome: 'linked' | 'unlinked' | 'abandoned';
}

export type UserStatus = 'none' | 'active' | 'merged' | 'erased' | 'abandoned';

export interface UserState extends ProfileData {
  userId: string;
  status: UserStatus;
  revision: number;
  username: string | null;
  passwordHash: string | null;
  connections: Connection[];
  /** Keyed by guard stream name: the last claim of that stream this user settled. */
  claims: Map<string, ClaimOutcome>;
  mergedInto: string | null;
  /** The users merged into this one, in order: an erasure of this user erases them too. */
  absorbed: string[];
  createdAt: string | null;
}

export const initialUser = (userId: string): UserState => ({
  userId,
  status: 'none',
  revision: -1,
  username: null,
  passwordHash: null,
  displayName: null,
  email: null,
  emailVerified: false,
  connections: [],
  claims: new Map(),
  mergedInto: null,
  absorbed: [],
  createdAt: null,
});

export const evolveUser = (state: UserState, event: Recorded<UserEvent>): UserState => {
  const next: UserState = { ...state, revision: event.revision };
  switch (event.type) {
    case 'UserRegistered': {
      const { data } = event;
      const claims = new Map(state.claims);
      if (data.usernameStream !== null && data.usernameClaimRevision !== null) {
        claims.set(data.usernameStream, {
          claimRevision: data.usernameClaimRevision,
          outcome: 'linked',
        });
      }
      return {
        ...next,
        status: 'active',
        username: data.username,
        displayName: data.displayName,
        email: data.email,
        emailVerified: data.emailVerified,
        claims,
        createdAt: event.time,
      };
    }
    case 'PasswordSet':
      return { ...next, passwordHash: event.data.passwordHash };
    case 'UsernameSet': {
      const claims = new Map(state.claims).set(event.data.usernameStream, {
        claimRevision: event.data.usernameClaimRevision,
        outcome: 'linked',
      });
      return { ...next, username: event.data.username, claims };
    }
    case 'ProviderLinked':
      return link(next, [event.data], event.time);
    case 'UsersMerged': {
      const { mergedId } = event.data;
      const absorbed = state.absorbed.includes(mergedId)
        ? state.absorbed
        : [...state.absorbed, mergedId];
      return { ...link(next, event.data.identities, event.time), absorbed };
    }
    case 'ProviderUnlinked': {
      const claims = new Map(state.claims).set(streams.identity(event.data), {
        claimRevision: event.data.claimRevision,
        outcome: 'unlinked',
      });
      const connections = state.connections.filter((c) => !sameIdentity(c, event.data));
      return { ...next, connections, claims };
    }
    case 'ProfileUpdated':
      return { ...next, ...stripUndefined(event.data) };
    case 'ClaimAbandoned': {
      const claims = new Map(state.claims).set(event.data.stream, {
        claimRevision: event.data.claimRevision,
        outcome: 'abandoned',
      });
      // A stream that begins with an abandoned claim is a registration that never was.
      const status = state.status === 'none' ? 'abandoned' : state.status;
      return { ...next, status, claims };
    }
    case 'UserMergedInto':
      return { ...next, status: 'merged', mergedInto: event.data.survivorId };
    case 'UserErased':
      return {
        ...next,
        status: 'erased',
        username: null,
        passwordHash: null,
        displayName: null,
        email: null,
        emailVerified: false,
      };
  }
};

const link = (
  state: UserState,
  identities: LinkedIdentity[],
  time: string,
): UserState => {
  const claims = new Map(state.claims);
  const connections = [...state.connections];
  for (const identity of identities) {
    claims.set(streams.identity(identity), {
      claimRevision: identity.claimRevision,
      outcome: 'linked',
    });
    if (!connections.some((c) => sameIdentity(c, identity))) {
      connections.push({ ...identity, linkedAt: time });
    }
  }
  return { ...state, connections, claims };
};

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as Partial<T>;

export const replayUser = (userId: string, events: Recorded<UserEvent>[]): UserState =>
  events.reduce(evolveUser, initialUser(userId));

/** Sign-in methods of this user alone: its connections and its password. */
export const signInMethodCount = (state: UserState): number =>
  state.connections.length + (state.passwordHash ? 1 : 0);

export const connectionOf = (
  state: UserState,
  identity: IdentityKey,
): Connection | null => state.connections.find((c) => sameIdentity(c, identity)) ?? null;

export const claimOutcome = (
  state: UserState,
  guardStream: string,
  claimRevision: number,
): ClaimOutcome['outcome'] | 'unsettled' => {
  const claim = state.claims.get(guardStream);
  return claim && claim.claimRevision === claimRevision ? claim.outcome : 'unsettled';
};

// ---------------------------------------------------------------------------------------
// Deciders: (state, command) -> events, or an AccountLinkingError. No I/O.

/** Refuses anything but an active user, in the contract's order of codes. */
export const assertActive = (state: UserState): void => {
  if (state.status === 'none' || state.status === 'abandoned') {
    throw new AccountLinkingError('user-not-found', 'no such user', {
      details: { userId: state.userId },
    });
  }
  if (state.status === 'merged') {
    throw new AccountLinkingError('user-merged', 'this user was merged into another', {
      details: { userId: state.userId, mergedInto: state.mergedInto },
    });
  }
  if (state.status === 'erased') {
    throw new AccountLinkingError('user-erased', 'this user was erased', {
      details: { userId: state.userId },
    });
  }
};

export const assertRevision = (state: UserState, expected: number | undefined): void => {
  if (expected !== undefined && expected !== state.revision) {
    throw new AccountLinkingError(
      'revision-mismatch',
      `the user is at revision ${state.revision}, not ${expected}`,
      { details: { userId: state.userId, revision: state.revision } },
    );
  }
};

/** How many more identities of this provider the user may take. */
export const assertProviderSlot = (
  state: UserState,
  provider: string,
  policy: Policy,
  adding = 1,
): void => {
  const held = state.connections.filter((c) => c.provider === provider).length;
  if (held + adding > policy.identitiesPerProvider) {
    throw new AccountLinkingError(
      'provider-already-linked',
      `the user already has ${held} ${provider} identit${held === 1 ? 'y' : 'ies'} linked`,
      { details: { userId: state.userId, provider } },
    );
  }
};

export const registerUser = (
  state: UserState,
  command: {
    method: 'password' | 'provider';
    profile: ProfileData;
    username?: { name: string; claimRevision: number };
    passwordHash?: string;
    identity?: LinkedIdentity;
  },
): UserEvent[] => {
  if (state.status !== 'none') {
    throw new AccountLinkingError('internal', `user ${state.userId} already exists`);
  }
  const events: UserEvent[] = [
    {
      type: 'UserRegistered',
      data: {
        userId: state.userId,
        method: command.method,
        username: command.username?.name ?? null,
        usernameStream: command.username ? streams.username(command.username.name) : null,
        usernameClaimRevision: command.username?.claimRevision ?? null,
        ...command.profile,
      },
    },
  ];
  if (command.passwordHash) {
    events.push({ type: 'PasswordSet', data: { passwordHash: command.passwordHash } });
  }
  if (command.identity) {
    events.push({ type: 'ProviderLinked', data: linkedIdentity(command.identity) });
  }
  return events;
};

/**
 * Links an identity whose claim (at `identity.claimRevision`) is already held for this
 * user. Linking the same claim twice is a no-op; a claim this user already gave up can
 * never be linked again, which is what makes releasing an abandoned claim safe.
 */
export const linkProvider = (
  state: UserState,
  identity: LinkedIdentity,
  policy: Policy,
): UserEvent[] => {
  assertActive(state);
  const stream = streams.identity(identity);
  const outcome = claimOutcome(state, stream, identity.claimRevision);
  if (outcome === 'linked') return [];
  if (outcome !== 'unsettled') {
    throw new AccountLinkingError('identity-not-linked', 'this claim was given up');
  }
  assertProviderSlot(state, identity.provider, policy);
  return [{ type: 'ProviderLinked', data: linkedIdentity(identity) }];
};

export const unlinkProvider = (state: UserState, identity: IdentityKey): UserEvent[] => {
  assertActive(state);
  const connection = connectionOf(state, identity);
  if (!connection) {
    throw new AccountLinkingError(
      'identity-not-linked',
      `this ${identity.provider} identity is not linked to the user`,
      { details: { userId: state.userId } },
    );
  }
  if (signInMethodCount(state) <= 1) {
    throw new AccountLinkingError(
      'last-sign-in-method',
      'this is the last way the user can sign in; add another first',
      { details: { userId: state.userId } },
    );
  }
  return [
    {
      type: 'ProviderUnlinked',
      data: {
        provider: connection.provider,
        subject: connection.subject,
        claimRevision: connection.claimRevision,
      },
    },
  ];
};

/**
 * Sets a password. A user without a username (one who signed up through a provider)
 * chooses one with it, claimed beforehand, since a password signs in with a username.
 */
export const setPassword = (
  state: UserState,
  passwordHash: string,
  username?: { name: string; claimRevision: number },
): UserEvent[] => {
  assertActive(state);
  const events: UserEvent[] = [];
  if (state.username === null) {
    if (!username) {
      throw new AccountLinkingError(
        'validation-failed',
        'choose a username with the password',
        {
          errors: [{ path: 'username', message: 'required for a user without one' }],
        },
      );
    }
    events.push({
      type: 'UsernameSet',
      data: {
        username: username.name,
        usernameStream: streams.username(username.name),
        usernameClaimRevision: username.claimRevision,
      },
    });
  }
  events.push({ type: 'PasswordSet', data: { passwordHash } });
  return events;
};

export const updateProfile = (
  state: UserState,
  profile: Partial<ProfileData>,
): UserEvent[] => {
  assertActive(state);
  const changed = Object.entries(profile).filter(
    ([key, value]) => value !== undefined && state[key as keyof ProfileData] !== value,
  );
  return changed.length === 0
    ? []
    : [{ type: 'ProfileUpdated', data: Object.fromEntries(changed) }];
};

/**
 * Records that a claim will never be linked to this user. Works on a user stream that
 * does not exist yet: the registration it was meant for is then cancelled for good.
 */
export const abandonClaim = (
  state: UserState,
  claim: { guard: 'identity' | 'username'; stream: string; claimRevision: number },
): UserEvent[] => {
  const outcome = claimOutcome(state, claim.stream, claim.claimRevision);
  if (outcome === 'abandoned' || outcome === 'unlinked') return [];
  if (outcome === 'linked') {
    throw new AccountLinkingError('internal', 'cannot abandon a claim that is linked');
  }
  return [{ type: 'ClaimAbandoned', data: claim }];
};

export const mergeInto = (state: UserState, survivorId: string): UserEvent[] => {
  if (state.status === 'merged' && state.mergedInto === survivorId) return [];
  assertActive(state);
  return [
    {
      type: 'UserMergedInto',
      data: {
        survivorId,
        identities: state.connections.map(({ provider, subject }) => ({
          provider,
          subject,
        })),
      },
    },
  ];
};

/**
 * The survivor records the merge of `mergedId` (once, even with nothing to move: an
 * erasure of the survivor finds the merged user by it) and takes the identities moved
 * from it that it does not hold yet.
 */
export const absorbUser = (
  state: UserState,
  mergedId: string,
  identities: LinkedIdentity[],
): UserEvent[] => {
  assertActive(state);
  const fresh = identities.filter(
    (identity) =>
      claimOutcome(state, streams.identity(identity), identity.claimRevision) ===
      'unsettled',
  );
  return fresh.length === 0 && state.absorbed.includes(mergedId)
    ? []
    : [
        {
          type: 'UsersMerged',
          data: { mergedId, identities: fresh.map(linkedIdentity) },
        },
      ];
};

/**
 * Erases an active user, or (only as part of erasing its survivor, which the caller
 * decides) a merged one: its identities left with the merge, so it releases none.
 */
export const eraseUser = (
  state: UserState,
  options: { merged?: boolean } = {},
): UserEvent[] => {
  if (state.status === 'erased') return [];
  if (!(options.merged && state.status === 'merged')) assertActive(state);
  const identities = state.status === 'merged' ? [] : state.connections;
  return [
    {
      type: 'UserErased',
      data: {
        identities: identities.map(({ provider, subject }) => ({ provider, subject })),
        usernameStream: state.username === null ? null : streams.username(state.username),
      },
    },
  ];
};
