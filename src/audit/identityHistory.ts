import { streams, type IdentityKey } from '../domain/values.js';
import type { EventStore } from '../eventstore/port.js';

/** One stretch of time during which an identity was held (by a user, or by nobody). */
export interface Holding {
  userId: string | null;
  from: string;
  /** When it ended; null while it lasts. */
  to: string | null;
  /** How it began: registration, link, merge (moved from `previousUserId`), unowned. */
  purpose: string;
  previousUserId: string | null;
  /** How it ended: unlinked, erased, abandoned, or moved by a merge. */
  ended: string | null;
}

/** Who has held an identity, from when to when, read from its stream. */
export const identityHistory = async (
  store: EventStore,
  identity: IdentityKey,
): Promise<Holding[]> => {
  const events = await store.readStream(streams.identity(identity));
  const holdings: Holding[] = [];
  for (const event of events) {
    const data = event.data as {
      userId: string | null;
      purpose?: string;
      previousUserId?: string | null;
      reason?: string;
    };
    const open = holdings.at(-1);
    if (event.type === 'IdentityClaimed') {
      if (open && open.to === null) {
        open.to = event.metadata.time;
        open.ended = data.purpose === 'merge' ? 'merged' : 'taken over';
      }
      holdings.push({
        userId: data.userId,
        from: event.metadata.time,
        to: null,
        purpose: data.purpose ?? 'unknown',
        previousUserId: data.previousUserId ?? null,
        ended: null,
      });
    } else if (event.type === 'IdentityReleased' && open && open.to === null) {
      open.to = event.metadata.time;
      open.ended = data.reason ?? 'released';
    }
  }
  return holdings;
};
