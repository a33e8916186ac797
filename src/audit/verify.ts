import type { DomainEvent } from '../domain/events.js';
import { identityKeyOf, identityOfStream, userIdOfStream } from '../domain/values.js';
import type { EventStore, StoredEvent } from '../eventstore/port.js';

/** An event that broke an invariant, and which one. */
export interface Violation {
  invariant:
    'one-holder' | 'claim-backed' | 'sign-in-method' | 'after-the-end' | 'per-provider';
  message: string;
  stream: string;
  revision: number;
  position: string;
  type: string;
}

export interface VerifyReport {
  events: number;
  users: number;
  identities: number;
  violations: Violation[];
  ok: boolean;
}

interface UserTrack {
  status: 'active' | 'merged' | 'erased';
  connections: Set<string>;
  password: boolean;
}

type Typed = DomainEvent & StoredEvent;

/**
 * Replays the whole log and checks, at every point in time, the invariants of the design:
 * no identity connected to two users at once, every link backed by a claim its user held
 * at that moment, no active user left without a way to sign in (checked after each
 * command's events), nothing happening to a merged or erased user afterwards (but the
 * erasure of a merged user, which comes with its survivor's), and at most
 * `identitiesPerProvider` identities of a provider per user, judged when they are added
 * by the limit recorded on the event (the setting may have changed since), or by
 * `identitiesPerProvider` for events that do not record one.
 */
export const verifyLog = async (options: {
  store: EventStore;
  identitiesPerProvider: number;
  onProgress?: (events: number, position: bigint) => void;
}): Promise<VerifyReport> => {
  const users = new Map<string, UserTrack>();
  // The user-stream view: which user an identity is connected to.
  const connectedTo = new Map<string, string>();
  // The identity-stream view: the current claim of each identity.
  const claims = new Map<string, { userId: string | null; revision: number }>();
  const violations: Violation[] = [];
  let events = 0;
  let group: { stream: string; commandId: string | null; last: StoredEvent } | null =
    null;

  const violate = (
    event: StoredEvent,
    invariant: Violation['invariant'],
    message: string,
  ) =>
    violations.push({
      invariant,
      message,
      stream: event.stream,
      revision: event.revision,
      position: event.position.toString(),
      type: event.type,
    });

  // The sign-in-method rule holds after a command's events, not between them.
  const closeGroup = () => {
    if (!group) return;
    const userId = userIdOfStream(group.stream);
    const user = userId ? users.get(userId) : undefined;
    if (user?.status === 'active' && user.connections.size === 0 && !user.password) {
      violate(
        group.last,
        'sign-in-method',
        `user ${userId} is left without a way to sign in`,
      );
    }
    group = null;
  };

  const connect = (
    event: StoredEvent,
    userId: string,
    user: UserTrack,
    key: string,
    claimRevision: number,
  ) => {
    const holder = connectedTo.get(key);
    if (holder && holder !== userId) {
      violate(
        event,
        'one-holder',
        `${key} connected to ${userId} while ${holder} holds it`,
      );
    }
    const claim = claims.get(key);
    if (!claim || claim.userId !== userId || claim.revision !== claimRevision) {
      violate(
        event,
        'claim-backed',
        `${key} linked to ${userId} without its claim ${claimRevision}`,
      );
    }
    connectedTo.set(key, userId);
    user.connections.add(key);
  };
  const disconnect = (userId: string, user: UserTrack, key: string) => {
    if (connectedTo.get(key) === userId) connectedTo.delete(key);
    user.connections.delete(key);
  };

  const apply = (stored: StoredEvent) => {
    const event = stored as unknown as Typed;
    const identity = identityOfStream(stored.stream);
    if (identity) {
      const key = identityKeyOf(identity);
      if (event.type === 'IdentityClaimed') {
        claims.set(key, { userId: event.data.userId, revision: stored.revision });
      } else if (event.type === 'IdentityReleased') {
        claims.delete(key);
      }
      return;
    }
    const userId = userIdOfStream(stored.stream);
    if (!userId) return;
    let user = users.get(userId);
    // A merged user is erased with its survivor: the one event that may follow its end.
    const erasedWithSurvivor = user?.status === 'merged' && event.type === 'UserErased';
    if (user && user.status !== 'active' && !erasedWithSurvivor) {
      violate(
        stored,
        'after-the-end',
        `user ${userId} was ${user.status} before this event`,
      );
      return;
    }
    switch (event.type) {
      case 'UserRegistered':
        user = { status: 'active', connections: new Set(), password: false };
        users.set(userId, user);
        return;
      case 'ClaimAbandoned':
        return;
    }
    if (!user) return;
    switch (event.type) {
      case 'PasswordSet':
        user.password = true;
        break;
      case 'ProviderLinked':
        connect(
          stored,
          userId,
          user,
          identityKeyOf(event.data),
          event.data.claimRevision,
        );
        break;
      case 'UsersMerged':
        for (const moved of event.data.identities) {
          connect(stored, userId, user, identityKeyOf(moved), moved.claimRevision);
        }
        break;
      case 'ProviderUnlinked':
        disconnect(userId, user, identityKeyOf(event.data));
        break;
      case 'UserMergedInto':
      case 'UserErased':
        for (const key of [...user.connections]) disconnect(userId, user, key);
        user.status = event.type === 'UserMergedInto' ? 'merged' : 'erased';
        break;
    }
    // Judged when identities are added, by the policy they were decided under (older
    // events, which do not record it, by today's).
    if (event.type !== 'ProviderLinked' && event.type !== 'UsersMerged') return;
    const limit = stored.metadata.identitiesPerProvider ?? options.identitiesPerProvider;
    const added = event.type === 'ProviderLinked' ? [event.data] : event.data.identities;
    for (const provider of new Set(added.map((identity) => identity.provider))) {
      const count = [...user.connections].filter((key) =>
        key.startsWith(`${provider}:`),
      ).length;
      if (count > limit) {
        violate(
          stored,
          'per-provider',
          `user ${userId} holds ${count} ${provider} identities`,
        );
      }
    }
  };

  let after: bigint | null = null;
  for (;;) {
    const batch = await options.store.readAll({ after, limit: 1000 });
    if (batch.length === 0) break;
    for (const event of batch) {
      const commandId = event.metadata.commandId;
      if (group && (group.stream !== event.stream || group.commandId !== commandId))
        closeGroup();
      apply(event);
      group = { stream: event.stream, commandId, last: event };
    }
    events += batch.length;
    after = batch.at(-1)!.position;
    options.onProgress?.(events, after);
  }
  closeGroup();
  return {
    events,
    users: users.size,
    identities: claims.size,
    violations,
    ok: violations.length === 0,
  };
};
