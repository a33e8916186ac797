import { foldEmail, streams, type IdentityKey } from '../domain/values.js';
import type { PersonalDataKeys } from '../eventstore/codec.js';
import type { EventStore, StoredEvent } from '../eventstore/port.js';
import type { OpenClaimDoc, UserDoc } from './documents.js';
import { assertContiguous, type ReadModel } from './port.js';
import { evolveIdentityDoc, evolveUserDoc, openClaimChanges } from './projectors.js';

/**
 * The embedded read model. The log itself, read stream by stream, answers for users and
 * identities: a user is folded from the user's stream (a handful of events) and an
 * identity from its guard stream (one to three) when asked, so the model holds no personal
 * data and no per-person state in memory. What it keeps is what no single stream tells:
 * the claims still open (for the reconciler) and the position it has followed the log to.
 * It follows the log with personal data sealed (nothing to decrypt), so it starts in about
 * the time it takes to read the log. Lookups by email go through the key store's index of
 * keyed email hashes, and each candidate is checked against its stream.
 */
export const createMemoryReadModel = (deps: {
  /** The log as readers see it: personal data opened. */
  store: Pick<EventStore, 'readStream'>;
  emailIndex: Pick<PersonalDataKeys, 'usersWithEmail'>;
}): ReadModel & { readsSealed: true; readsCurrent: true } => {
  const openClaims = new Map<string, OpenClaimDoc>();
  let checkpoint: bigint | null = null;

  const applyOne = (event: StoredEvent): void => {
    // Events at or below the checkpoint were applied already: applying twice is a no-op.
    if (checkpoint !== null && event.position <= checkpoint) return;
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

  const getUser = async (userId: string): Promise<UserDoc | null> => {
    let doc: UserDoc | null = null;
    for (const event of await deps.store.readStream(streams.user(userId))) {
      doc = evolveUserDoc(doc, event);
    }
    return doc;
  };

  return {
    readsSealed: true,
    readsCurrent: true,
    position: async () => checkpoint,
    apply: async (events, options = {}) => {
      assertContiguous(checkpoint, options.after);
      events.forEach(applyOne);
    },
    getUser,
    getIdentity: async (identity: IdentityKey) => {
      // The guard stream's last event says who holds it (see evolveIdentityDoc).
      const last = (await deps.store.readStream(streams.identity(identity))).at(-1);
      return last ? evolveIdentityDoc(null, last) : null;
    },
    findUsersByEmail: async (email) => {
      const folded = foldEmail(email);
      const candidates = await deps.emailIndex.usersWithEmail(email);
      const users = await Promise.all(candidates.map(getUser));
      return users.filter(
        (doc): doc is UserDoc =>
          doc !== null &&
          doc.status === 'active' &&
          doc.email !== null &&
          foldEmail(doc.email) === folded,
      );
    },
    listOpenClaims: async () => [...openClaims.values()],
    dropOpenClaim: async (stream, position) => {
      const open = openClaims.get(stream);
      if (open && open.position <= position) openClaims.delete(stream);
    },
    close: async () => {},
  };
};
