import type { DomainEvent } from '../domain/events.js';
import { streams } from '../domain/values.js';
import type { EventStore, StoredEvent } from '../eventstore/port.js';
import type { UserDoc } from '../projections/documents.js';
import { evolveUserDoc } from '../projections/projectors.js';

type Typed = DomainEvent & StoredEvent;

/** Guard streams a user's own events mention: identities it held, its username. */
const guardStreamsOf = (events: StoredEvent[]): Set<string> => {
  const found = new Set<string>();
  for (const stored of events) {
    const event = stored as unknown as Typed;
    switch (event.type) {
      case 'UserRegistered':
        if (event.data.usernameStream) found.add(event.data.usernameStream);
        break;
      case 'UsernameSet':
        found.add(event.data.usernameStream);
        break;
      case 'ProviderLinked':
      case 'ProviderUnlinked':
        found.add(streams.identity(event.data));
        break;
      case 'UsersMerged':
      case 'UserMergedInto':
        event.data.identities.forEach((identity) =>
          found.add(streams.identity(identity)),
        );
        break;
      case 'ClaimAbandoned':
        found.add(event.data.stream);
        break;
      case 'UserErased':
        event.data.identities.forEach((identity) =>
          found.add(streams.identity(identity)),
        );
        if (event.data.usernameStream) found.add(event.data.usernameStream);
        break;
    }
  }
  return found;
};

const concerns = (stored: StoredEvent, userId: string): boolean => {
  const data = stored.data as { userId?: unknown; previousUserId?: unknown };
  return data.userId === userId || data.previousUserId === userId;
};

/**
 * The user's history from the log itself: its own stream, and the events of every guard
 * stream it has held that concern it, in log order. Empty when the user never existed.
 */
export const userHistory = async (
  store: EventStore,
  userId: string,
): Promise<StoredEvent[]> => {
  const own = await store.readStream(streams.user(userId));
  if (own.length === 0) return [];
  const related = await Promise.all(
    [...guardStreamsOf(own)].map((stream) => store.readStream(stream)),
  );
  const guards = related.flat().filter((event) => concerns(event, userId));
  return [...own, ...guards].sort((a, b) => (a.position < b.position ? -1 : 1));
};

/** The user as it was at `at` (inclusive), replayed from its stream; null before it. */
export const userStateAt = async (
  store: EventStore,
  userId: string,
  at: Date,
): Promise<UserDoc | null> => {
  const events = await store.readStream(streams.user(userId));
  let doc: UserDoc | null = null;
  for (const event of events) {
    if (Date.parse(event.metadata.time) > at.getTime()) break;
    doc = evolveUserDoc(doc, event);
  }
  return doc;
};

const SECRET_FIELDS = new Set(['passwordHash']);

/** Event data as an auditor sees it: secrets replaced, everything else as recorded. */
export const auditData = (data: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(data).map(([key, value]) => [
      key,
      SECRET_FIELDS.has(key) ? '[redacted]' : value,
    ]),
  );
