import { expect } from 'vitest';
import { AccountLinkingError, type ErrorCode } from '../../src/domain/errors.js';
import type { DomainEvent, Recorded, UserEvent } from '../../src/domain/events.js';
import { replayUser, type UserState } from '../../src/domain/user.js';

export const USER = '00000000-0000-4000-8000-000000000001';
export const OTHER = '00000000-0000-4000-8000-000000000002';
export const THIRD = '00000000-0000-4000-8000-000000000003';

/** Gives events the revisions and times they would have in a stream. */
export const recorded = <E extends DomainEvent>(
  events: E[],
  commandId = 'given',
): Recorded<E>[] =>
  events.map((event, revision) => ({
    ...event,
    revision,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, revision)).toISOString(),
    commandId,
  }));

export const userFrom = (events: UserEvent[], userId = USER): UserState =>
  replayUser(userId, recorded(events));

/**
 * Given/when/then for a decider: given the stream's events, when the decision runs,
 * then these events (or this refusal).
 */
export const given = (events: UserEvent[], userId = USER) => ({
  when: (decide: (state: UserState) => DomainEvent[]) => ({
    then: (expected: DomainEvent[]) =>
      expect(decide(userFrom(events, userId))).toEqual(expected),
    thenRefuses: (code: ErrorCode) => {
      let thrown: unknown = null;
      try {
        decide(userFrom(events, userId));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AccountLinkingError);
      expect((thrown as AccountLinkingError).code).toBe(code);
    },
  }),
});

export const registered = (userId = USER, profile = {}): UserEvent => ({
  type: 'UserRegistered',
  data: {
    userId,
    method: 'provider',
    username: null,
    usernameStream: null,
    usernameClaimRevision: null,
    displayName: null,
    email: null,
    emailVerified: false,
    ...profile,
  },
});

export const linked = (
  provider: string,
  subject: string,
  claimRevision = 0,
): UserEvent => ({
  type: 'ProviderLinked',
  data: {
    provider,
    subject,
    claimRevision,
    displayName: null,
    email: null,
    emailVerified: false,
  },
});

export const passwordSet: UserEvent = {
  type: 'PasswordSet',
  data: { passwordHash: 'hash' },
};
