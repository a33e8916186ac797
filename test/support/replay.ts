import { identityKeyOf, type IdentityKey } from '../../src/domain/values.js';
import type { StoredEvent } from '../../src/eventstore/port.js';
import type { IdentityDoc, UserDoc } from '../../src/projections/documents.js';
import {
  evolveIdentityDoc,
  evolveUserDoc,
  identityOf,
  userIdOf,
} from '../../src/projections/projectors.js';

/**
 * What a read model must show after these events, by the plainest means: every user and
 * identity folded from its events into a map. The oracle the read models are compared with.
 */
export const referenceReplay = (events: StoredEvent[]) => {
  const users = new Map<string, UserDoc>();
  const identities = new Map<string, IdentityDoc>();
  for (const event of events) {
    const userId = userIdOf(event);
    if (userId !== null) {
      const after = evolveUserDoc(users.get(userId) ?? null, event);
      if (after) users.set(userId, after);
      else users.delete(userId);
    }
    const identity = identityOf(event);
    if (identity !== null) {
      const key = identityKeyOf(identity);
      const after = evolveIdentityDoc(identities.get(key) ?? null, event);
      if (after) identities.set(key, after);
    }
  }
  return {
    getUser: (userId: string): UserDoc | null => users.get(userId) ?? null,
    getIdentity: (identity: IdentityKey): IdentityDoc | null =>
      identities.get(identityKeyOf(identity)) ?? null,
  };
};
