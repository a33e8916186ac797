import { describe, expect, it } from 'vitest';
import type { IdentityEvent, UserEvent } from '../../src/domain/events.js';
import { evolveGuard, initialGuard } from '../../src/domain/guard.js';
import { resolveClaim } from '../../src/domain/pendingClaims.js';
import { DEFAULT_POLICY } from '../../src/domain/policies.js';
import { streams } from '../../src/domain/values.js';
import {
  OTHER,
  USER,
  linked,
  passwordSet,
  recorded,
  registered,
  userFrom,
} from '../support/domain.js';

const identity = { provider: 'github', subject: '9' };
const stream = streams.identity(identity);
const claim = (purpose: 'register' | 'link', userId = USER) =>
  recorded<IdentityEvent>([
    {
      type: 'IdentityClaimed',
      data: { ...identity, userId, purpose, previousUserId: null },
    },
  ]).reduce(evolveGuard, initialGuard());

const resolve = (purpose: 'register' | 'link', ownerEvents: UserEvent[] | null) =>
  resolveClaim({
    guard: 'identity',
    stream,
    claim: claim(purpose),
    owner: ownerEvents === null ? null : userFrom(ownerEvents),
    provider: 'github',
    policy: DEFAULT_POLICY,
  });

describe('settling a claim its owner has not settled', () => {
  it('finishes a registration whose user was never written', () => {
    expect(resolve('register', [])).toEqual({ kind: 'complete-registration' });
  });

  it('is settled once the user links that very claim', () => {
    expect(resolve('register', [registered(), linked('github', '9', 0)])).toEqual({
      kind: 'settled',
    });
  });

  it('finishes a link the user has room for', () => {
    expect(resolve('link', [registered(), passwordSet])).toEqual({
      kind: 'complete-link',
    });
  });

  it('gives up a link the user has no room for, on the user stream first', () => {
    expect(resolve('link', [registered(), linked('github', '1', 0)])).toEqual({
      kind: 'abandon',
    });
  });

  it('releases a claim the user unlinked or abandoned', () => {
    expect(
      resolve('link', [
        registered(),
        linked('github', '9', 0),
        { type: 'ProviderUnlinked', data: { ...identity, claimRevision: 0 } },
      ]),
    ).toEqual({ kind: 'release', reason: 'unlinked' });
    expect(
      resolve('link', [
        registered(),
        { type: 'ClaimAbandoned', data: { guard: 'identity', stream, claimRevision: 0 } },
      ]),
    ).toEqual({ kind: 'release', reason: 'abandoned' });
  });

  it('releases a registration that was abandoned before its user was written', () => {
    expect(
      resolve('register', [
        { type: 'ClaimAbandoned', data: { guard: 'identity', stream, claimRevision: 0 } },
      ]),
    ).toEqual({ kind: 'release', reason: 'abandoned' });
  });

  it("moves a merged user's linked identity to the survivor", () => {
    expect(
      resolve('link', [
        registered(),
        linked('github', '9', 0),
        {
          type: 'UserMergedInto',
          data: { survivorId: OTHER, identities: [identity] },
        },
      ]),
    ).toEqual({ kind: 'transfer', survivorId: OTHER });
  });

  it('releases what an erased user held', () => {
    expect(
      resolve('link', [
        registered(),
        linked('github', '9', 0),
        { type: 'UserErased', data: { identities: [identity], usernameStream: null } },
      ]),
    ).toEqual({ kind: 'release', reason: 'erased' });
  });
});
