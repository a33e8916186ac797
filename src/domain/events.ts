import type { IdentityKey } from './values.js';

/** What a provider told us about the person, as far as this service keeps it. */
export interface ProfileData {
  displayName: string | null;
  email: string | null;
  emailVerified: boolean;
}

export interface LinkedIdentity extends IdentityKey, ProfileData {
  /** Revision of the `IdentityClaimed` event in the identity stream that backs this link. */
  claimRevision: number;
}

/** Exactly the fields of a linked identity, whatever else the value carries. */
export const linkedIdentity = (value: LinkedIdentity): LinkedIdentity => ({
  provider: value.provider,
  subject: value.subject,
  claimRevision: value.claimRevision,
  displayName: value.displayName,
  email: value.email,
  emailVerified: value.emailVerified,
});

export type ClaimPurpose = 'register' | 'link' | 'merge' | 'unowned';

export type ReleaseReason = 'unlinked' | 'erased' | 'abandoned' | 'merged-away';

/** Events of a `user-<id>` stream. */
export type UserEvent =
  | {
      type: 'UserRegistered';
      data: ProfileData & {
        userId: string;
        method: 'password' | 'provider';
        username: string | null;
        /** Since v2: the username's guard stream, known even once the username is erased. */
        usernameStream: string | null;
        usernameClaimRevision: number | null;
      };
    }
  | { type: 'PasswordSet'; data: { passwordHash: string } }
  | {
      type: 'UsernameSet';
      data: { username: string; usernameStream: string; usernameClaimRevision: number };
    }
  | { type: 'ProviderLinked'; data: LinkedIdentity }
  | {
      type: 'ProviderUnlinked';
      data: IdentityKey & { claimRevision: number };
    }
  | { type: 'ProfileUpdated'; data: Partial<ProfileData> }
  | {
      // A claim on a guard stream that will never be linked to this user; written before
      // the claim is released so that nobody can complete it afterwards.
      type: 'ClaimAbandoned';
      data: { guard: 'identity' | 'username'; stream: string; claimRevision: number };
    }
  | { type: 'UsersMerged'; data: { mergedId: string; identities: LinkedIdentity[] } }
  | { type: 'UserMergedInto'; data: { survivorId: string; identities: IdentityKey[] } }
  | {
      type: 'UserErased';
      data: { identities: IdentityKey[]; usernameStream: string | null };
    };

/** Events of an `identity-<provider>-<subject>` stream: the uniqueness guard. */
export type IdentityEvent =
  | {
      type: 'IdentityClaimed';
      data: IdentityKey & {
        userId: string | null;
        purpose: ClaimPurpose;
        previousUserId: string | null;
      };
    }
  | {
      type: 'IdentityReleased';
      data: IdentityKey & { userId: string | null; reason: ReleaseReason };
    };

/** Events of a `username-<hash>` stream: the guard that keeps usernames unique. */
export type UsernameEvent =
  | { type: 'UsernameClaimed'; data: { userId: string } }
  | { type: 'UsernameReleased'; data: { userId: string; reason: ReleaseReason } };

export type DomainEvent = UserEvent | IdentityEvent | UsernameEvent;
export type EventType = DomainEvent['type'];

/**
 * Schema version of each event type as written today. Older versions are upcast on read
 * (src/domain/upcasting.ts), so the log is never rewritten.
 */
export const SCHEMA_VERSIONS: Record<EventType, number> = {
  UserRegistered: 2,
  PasswordSet: 1,
  UsernameSet: 2,
  ProviderLinked: 1,
  ProviderUnlinked: 1,
  ProfileUpdated: 1,
  ClaimAbandoned: 1,
  UsersMerged: 1,
  UserMergedInto: 1,
  UserErased: 1,
  IdentityClaimed: 1,
  IdentityReleased: 1,
  UsernameClaimed: 1,
  UsernameReleased: 1,
};

/** An event as read back from a stream: the parts the deciders need. */
export type Recorded<E extends DomainEvent = DomainEvent> = E & {
  revision: number;
  time: string;
  commandId: string | null;
};
