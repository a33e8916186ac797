import { describe, expect, it } from 'vitest';
import { AccountLinkingError } from '../../src/domain/errors.js';
import type { IdentityEvent } from '../../src/domain/events.js';
import {
  claimIdentity,
  claimUsername,
  evolveGuard,
  initialGuard,
  releaseIdentity,
} from '../../src/domain/guard.js';
import { OTHER, USER, recorded } from '../support/domain.js';

const identity = { provider: 'github', subject: '77' };
const guardOf = (events: IdentityEvent[]) =>
  recorded(events).reduce(evolveGuard, initialGuard());
const claimed = (userId: string | null): IdentityEvent => ({
  type: 'IdentityClaimed',
  data: { ...identity, userId, purpose: 'link', previousUserId: null },
});
const released: IdentityEvent = {
  type: 'IdentityReleased',
  data: { ...identity, userId: USER, reason: 'unlinked' },
};

describe('the identity guard', () => {
  it('is claimed by a first claim', () => {
    expect(
      claimIdentity(guardOf([]), identity, { userId: USER, purpose: 'register' }),
    ).toEqual([
      {
        type: 'IdentityClaimed',
        data: { ...identity, userId: USER, purpose: 'register', previousUserId: null },
      },
    ]);
  });

  it('refuses a claim while another user holds it, naming the holder', () => {
    let error: unknown;
    try {
      claimIdentity(guardOf([claimed(OTHER)]), identity, {
        userId: USER,
        purpose: 'link',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AccountLinkingError);
    expect((error as AccountLinkingError).code).toBe('identity-already-linked');
    expect((error as AccountLinkingError).details).toEqual({ userId: OTHER });
  });

  it('can be claimed again once released', () => {
    const guard = guardOf([claimed(OTHER), released]);
    expect(guard.status).toBe('released');
    expect(
      claimIdentity(guard, identity, { userId: USER, purpose: 'link' }),
    ).toHaveLength(1);
  });

  it('lets a user take over a connection kept without a user', () => {
    const [event] = claimIdentity(guardOf([claimed(null)]), identity, {
      userId: USER,
      purpose: 'link',
    });
    expect(event).toMatchObject({ data: { userId: USER, previousUserId: null } });
  });

  it('moves a claim from the merged user to the survivor, and only from it', () => {
    const guard = guardOf([claimed(OTHER)]);
    expect(
      claimIdentity(guard, identity, {
        userId: USER,
        purpose: 'merge',
        previousUserId: OTHER,
      }),
    ).toEqual([
      {
        type: 'IdentityClaimed',
        data: { ...identity, userId: USER, purpose: 'merge', previousUserId: OTHER },
      },
    ]);
    expect(() =>
      claimIdentity(guard, identity, {
        userId: USER,
        purpose: 'merge',
        previousUserId: USER,
      }),
    ).toThrow(AccountLinkingError);
  });

  it('releases only the claim it was asked to, once', () => {
    const guard = guardOf([claimed(USER)]);
    expect(releaseIdentity(guard, identity, 0, 'unlinked')).toEqual([
      {
        type: 'IdentityReleased',
        data: { ...identity, userId: USER, reason: 'unlinked' },
      },
    ]);
    expect(releaseIdentity(guard, identity, 5, 'unlinked')).toEqual([]);
    expect(
      releaseIdentity(guardOf([claimed(USER), released]), identity, 0, 'unlinked'),
    ).toEqual([]);
  });
});

describe('the username guard', () => {
  it('refuses a username that is taken', () => {
    const guard = recorded([
      { type: 'UsernameClaimed' as const, data: { userId: OTHER } },
    ]).reduce(evolveGuard, initialGuard());
    expect(() => claimUsername(guard, USER)).toThrow(/taken/);
  });
});
