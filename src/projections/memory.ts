import { foldEmail, identityKeyOf, streams, type IdentityKey } from '../domain/values.js';
import type { PersonalDataKeys } from '../eventstore/codec.js';
import type { EventStore, StoredEvent } from '../eventstore/port.js';
import type { IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';
import { assertContiguous, type ReadModel } from './port.js';
import { evolveUserDoc, openClaimChanges } from './projectors.js';

/** An identity as the in-memory model keeps it: what a lookup needs, nothing more. */
interface HeldIdentity {
  userId: string | null;
  /** null once released. */
  claimRevision: number | null;
  since: string;
  revision: number;
  position: bigint;
}

/**
 * The embedded read model, rebuilt from the log at every start. It keeps in memory what
 * must be found fast (every identity and who holds it, open claims) and reads a user
 * from the user's own stream when asked (a handful of events), so it holds no personal
 * data and replays the log without decrypting any (`sealed`): it starts in about the
 * time it takes to read the log. Lookups by email go through the key store's index of
 * keyed email hashes, and each candidate is checked against its stream.
 */
export const createMemoryReadModel = (deps: {
  /** The log as readers see it: personal data opened. */
  store: Pick<EventStore, 'readStream'>;
  emailIndex: Pick<PersonalDataKeys, 'usersWithEmail'>;
}): ReadModel & { readsSealed: true } => {
  const identities = new Map<string, HeldIdentity>();
  const openClaims = new Map<string, OpenClaimDoc>();
  let checkpoint: bigint | null = null;

  const applyOne = (event: StoredEvent): void => {
    // Events at or below the checkpoint were applied already: applying twice is a no-op.
    if (checkpoint !== null && event.position <= checkpoint) return;
    if (event.type === 'IdentityClaimed' || event.type === 'IdentityReleased') {
      const data = event.data as unknown as IdentityKey & { userId: string | null };
      identities.set(identityKeyOf(data), {
        userId: event.type === 'IdentityClaimed' ? data.userId : null,
        claimRevision: event.type === 'IdentityClaimed' ? event.revision : null,
        since: event.metadata.time,
        revision: event.revision,
        position: event.position,
      });
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

  const getUser = async (userId: string): Promise<UserDoc | null> => {
    let doc: UserDoc | null = null;
    for (const event of await deps.store.readStream(streams.user(userId))) {
      doc = evolveUserDoc(doc, event);
    }
    return doc;
  };

  return {
    readsSealed: true,
    position: async () => checkpoint,
    apply: async (events, options = {}) => {
      assertContiguous(checkpoint, options.after);
      events.forEach(applyOne);
    },
    getUser,
    getIdentity: async (identity: IdentityKey) => {
      const held = identities.get(identityKeyOf(identity));
      if (!held) return null;
      const doc: IdentityDoc = {
        provider: identity.provider,
        subject: identity.subject,
        status:
          held.claimRevision === null
            ? 'released'
            : held.userId === null
              ? 'unowned'
              : 'linked',
        userId: held.userId,
        since: held.since,
        claimRevision: held.claimRevision ?? -1,
        revision: held.revision,
        position: held.position,
      };
      return doc;
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
