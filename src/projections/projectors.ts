import type { DomainEvent, LinkedIdentity } from '../domain/events.js';
import {
  identityOfStream,
  sameIdentity,
  streams,
  userIdOfStream,
  type IdentityKey,
} from '../domain/values.js';
import type { StoredEvent } from '../eventstore/port.js';
import type { ConnectionDoc, IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';

/**
 * Projectors: pure functions from (document, event) to the new document. Each store
 * (memory, MongoDB) loads the documents an event touches, evolves them, and saves them
 * with the event's position, which is also how it skips an event it already applied.
 */

type Typed = DomainEvent & StoredEvent;
const typed = (event: StoredEvent): Typed => event as unknown as Typed;

/** The user document an event changes, if any. */
export const userIdOf = (event: StoredEvent): string | null =>
  userIdOfStream(event.stream);

export const evolveUserDoc = (
  doc: UserDoc | null,
  stored: StoredEvent,
): UserDoc | null => {
  const event = typed(stored);
  const time = stored.metadata.time;
  const touched = (next: UserDoc): UserDoc => ({
    ...next,
    revision: stored.revision,
    position: stored.position,
  });

  if (event.type === 'UserRegistered') {
    return touched({
      userId: event.data.userId,
      status: 'active',
      username: event.data.username,
      displayName: event.data.displayName,
      email: event.data.email,
      emailVerified: event.data.emailVerified,
      hasPassword: false,
      connections: [],
      mergedInto: null,
      createdAt: time,
      revision: stored.revision,
      position: stored.position,
    });
  }
  // A stream that starts with an abandoned claim never became a user.
  if (doc === null) return null;

  switch (event.type) {
    case 'PasswordSet':
      return touched({ ...doc, hasPassword: true });
    case 'UsernameSet':
      return touched({ ...doc, username: event.data.username });
    case 'ProviderLinked':
      return touched({
        ...doc,
        connections: withLinks(doc.connections, [event.data], time),
      });
    case 'UsersMerged':
      return touched({
        ...doc,
        connections: withLinks(doc.connections, event.data.identities, time),
      });
    case 'ProviderUnlinked':
      return touched({
        ...doc,
        connections: doc.connections.filter((c) => !sameIdentity(c, event.data)),
      });
    case 'ProfileUpdated': {
      const { displayName, email, emailVerified } = event.data;
      return touched({
        ...doc,
        displayName: displayName === undefined ? doc.displayName : displayName,
        email: email === undefined ? doc.email : email,
        emailVerified: emailVerified ?? doc.emailVerified,
      });
    }
    case 'UserMergedInto':
      return touched({
        ...doc,
        status: 'merged',
        mergedInto: event.data.survivorId,
        connections: [],
      });
    case 'UserErased':
      return touched({
        ...doc,
        status: 'erased',
        username: null,
        displayName: null,
        email: null,
        emailVerified: false,
        hasPassword: false,
        connections: [],
      });
    default:
      return touched(doc);
  }
};

const withLinks = (
  connections: ConnectionDoc[],
  identities: LinkedIdentity[],
  linkedAt: string,
): ConnectionDoc[] => {
  const next = [...connections];
  for (const identity of identities) {
    if (next.some((c) => sameIdentity(c, identity))) continue;
    next.push({
      provider: identity.provider,
      subject: identity.subject,
      linkedAt,
      email: identity.email,
      emailVerified: identity.emailVerified,
      displayName: identity.displayName,
      claimRevision: identity.claimRevision,
    });
  }
  return next;
};

/** The identity document an event changes, if any. */
export const identityOf = (event: StoredEvent): IdentityKey | null =>
  identityOfStream(event.stream);

export const evolveIdentityDoc = (
  _doc: IdentityDoc | null,
  stored: StoredEvent,
): IdentityDoc | null => {
  const event = typed(stored);
  const base = {
    provider: '',
    subject: '',
    since: stored.metadata.time,
    revision: stored.revision,
    position: stored.position,
  };
  switch (event.type) {
    case 'IdentityClaimed':
      return {
        ...base,
        provider: event.data.provider,
        subject: event.data.subject,
        status: event.data.userId === null ? 'unowned' : 'linked',
        userId: event.data.userId,
        claimRevision: stored.revision,
      };
    case 'IdentityReleased':
      return {
        ...base,
        provider: event.data.provider,
        subject: event.data.subject,
        status: 'released',
        userId: null,
        claimRevision: -1,
      };
    default:
      return null;
  }
};

/**
 * How an event changes the set of open claims: `put` opens (or re-opens) a claim, `drop`
 * closes it when the event settles that very claim revision.
 */
export type OpenClaimChange =
  | { kind: 'put'; claim: OpenClaimDoc }
  | { kind: 'drop'; stream: string; claimRevision: number | 'any' };

export const openClaimChanges = (stored: StoredEvent): OpenClaimChange[] => {
  const event = typed(stored);
  const at = { since: stored.metadata.time, position: stored.position };
  const put = (stream: string, claimRevision: number | null): OpenClaimChange => ({
    kind: 'put',
    claim: { stream, claimRevision, ...at },
  });
  const drop = (stream: string, claimRevision: number | 'any'): OpenClaimChange => ({
    kind: 'drop',
    stream,
    claimRevision,
  });

  switch (event.type) {
    case 'IdentityClaimed':
      return event.data.userId === null
        ? [drop(stored.stream, 'any')]
        : [put(stored.stream, stored.revision)];
    case 'UsernameClaimed':
      return [put(stored.stream, stored.revision)];
    case 'IdentityReleased':
    case 'UsernameReleased':
      return [drop(stored.stream, 'any')];
    case 'UserRegistered': {
      const { usernameStream, usernameClaimRevision } = event.data;
      return usernameStream !== null && usernameClaimRevision !== null
        ? [drop(usernameStream, usernameClaimRevision)]
        : [];
    }
    case 'UsernameSet':
      return [drop(event.data.usernameStream, event.data.usernameClaimRevision)];
    case 'ProviderLinked':
      return [drop(streams.identity(event.data), event.data.claimRevision)];
    case 'UsersMerged':
      return event.data.identities.map((i) => drop(streams.identity(i), i.claimRevision));
    case 'ProviderUnlinked':
      return [put(streams.identity(event.data), event.data.claimRevision)];
    case 'ClaimAbandoned':
      return [put(event.data.stream, event.data.claimRevision)];
    case 'UserMergedInto':
      return event.data.identities.map((i) => put(streams.identity(i), null));
    case 'UserErased':
      return [
        ...event.data.identities.map((i) => put(streams.identity(i), null)),
        ...(event.data.usernameStream ? [put(event.data.usernameStream, null)] : []),
      ];
    default:
      return [];
  }
};
