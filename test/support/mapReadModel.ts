import { foldEmail, identityKeyOf, type IdentityKey } from '../../src/domain/values.js';
import type { StoredEvent } from '../../src/eventstore/port.js';
import type {
  IdentityDoc,
  OpenClaimDoc,
  UserDoc,
} from '../../src/projections/documents.js';
import { assertContiguous, type ReadModel } from '../../src/projections/port.js';
import {
  evolveIdentityDoc,
  evolveUserDoc,
  identityOf,
  openClaimChanges,
  userIdOf,
} from '../../src/projections/projectors.js';

/**
 * A read model that keeps every document it projects, in maps: what a database-backed
 * store does, without the database. Tests of the projection runner use it, since only a
 * store that keeps documents shows an event the runner skipped.
 */
export const mapReadModel = (): ReadModel => {
  const users = new Map<string, UserDoc>();
  const identities = new Map<string, IdentityDoc>();
  const byEmail = new Map<string, Set<string>>();
  const openClaims = new Map<string, OpenClaimDoc>();
  let checkpoint: bigint | null = null;

  const indexEmail = (before: UserDoc | undefined, after: UserDoc | null): void => {
    const old = before?.email ? foldEmail(before.email) : null;
    const now = after?.email ? foldEmail(after.email) : null;
    if (old === now) return;
    if (old !== null) {
      const ids = byEmail.get(old);
      ids?.delete(before!.userId);
      if (ids?.size === 0) byEmail.delete(old);
    }
    if (now !== null && after) {
      const ids = byEmail.get(now) ?? new Set<string>();
      ids.add(after.userId);
      byEmail.set(now, ids);
    }
  };

  const applyOne = (event: StoredEvent): void => {
    // Events at or below the checkpoint were applied already: applying twice is a no-op.
    if (checkpoint !== null && event.position <= checkpoint) return;

    const userId = userIdOf(event);
    if (userId !== null) {
      const before = users.get(userId);
      const after = evolveUserDoc(before ?? null, event);
      if (after) users.set(userId, after);
      else users.delete(userId);
      indexEmail(before, after);
    }

    const identity = identityOf(event);
    if (identity !== null) {
      const key = identityKeyOf(identity);
      const after = evolveIdentityDoc(identities.get(key) ?? null, event);
      if (after) identities.set(key, after);
    }

    for (const change of openClaimChanges(event)) {
      if (change.kind === 'put') {
        openClaims.set(change.claim.stream, change.claim);
        continue;
      }
      const open = openClaims.get(change.stream);
      if (
        open &&
        (change.claimRevision === 'any' || open.claimRevision === change.claimRevision)
      ) {
        openClaims.delete(change.stream);
      }
    }
    checkpoint = event.position;
  };

  return {
    position: async () => checkpoint,
    apply: async (events, options = {}) => {
      assertContiguous(checkpoint, options.after);
      events.forEach(applyOne);
    },
    getUser: async (userId) => users.get(userId) ?? null,
    getIdentity: async (identity: IdentityKey) =>
      identities.get(identityKeyOf(identity)) ?? null,
    findUsersByEmail: async (email) =>
      [...(byEmail.get(foldEmail(email)) ?? [])]
        .map((id) => users.get(id))
        .filter((doc): doc is UserDoc => doc !== undefined && doc.status === 'active'),
    listOpenClaims: async () => [...openClaims.values()],
    dropOpenClaim: async (stream, position) => {
      const open = openClaims.get(stream);
      if (open && open.position <= position) openClaims.delete(stream);
    },
    close: async () => {},
  };
};
