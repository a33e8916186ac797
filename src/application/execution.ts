import { randomUUID } from 'node:crypto';
import { parse as parseUuid, v5 as uuidv5 } from 'uuid';
import type {
  DomainEvent,
  IdentityEvent,
  Recorded,
  UsernameEvent,
  UserEvent,
} from '../domain/events.js';
import { SCHEMA_VERSIONS } from '../domain/events.js';

import { evolveGuard, initialGuard, type GuardState } from '../domain/guard.js';
import { replayUser, type UserState } from '../domain/user.js';
import { streams } from '../domain/values.js';
import type {
  EventMetadata,
  ExpectedRevision,
  NewEvent,
  StoredEvent,
} from '../eventstore/port.js';
import type { CommandContext, Services } from './context.js';

// Namespace for event and user ids derived from a command id (any fixed UUID works).
const ID_NAMESPACE = parseUuid('6f1d2c9e-3a54-4b8e-9d61-0c2a7e5b4f10');

/**
 * The name-based (v5) UUID of `name` in our namespace. The name goes in as UTF-8 bytes
 * and the namespace as bytes parsed once: given strings, the uuid package encodes the
 * name and parses the namespace on every call, a tenth of an event's append in a profile.
 */
export const nameBasedId = (name: string): string =>
  uuidv5(Buffer.from(name, 'utf8'), ID_NAMESPACE);

/** An event this command appended, now or in an earlier attempt of the same command. */
interface OwnEvent {
  stream: string;
  revision: number;
  position: bigint;
  type: string;
}

/**
 * One run of one command: the services, who asked, and every event of this command seen
 * so far. A retried command reads its own earlier events back, so its answer is the same
 * whether the work was done now or before a crash.
 */
export interface Execution {
  services: Services;
  context: CommandContext;
  own: Map<string, OwnEvent>;
  ids: Map<string, string>;
}

export const startExecution = (
  services: Services,
  context: CommandContext,
): Execution => ({
  services,
  context,
  own: new Map(),
  ids: new Map(),
});

/** An execution of the service's own (a repair, a check), not asked for by a caller. */
export const systemExecution = (
  services: Services,
  flow: CommandContext['flow'],
): Execution =>
  startExecution(services, {
    actor: 'system',
    flow,
    correlationId: randomUUID(),
    requestId: null,
    commandId: randomUUID(),
    idempotent: false,
  });

/** A new id for something this command creates, stable across retries of the command. */
export const derivedId = (execution: Execution, purpose: string): string => {
  let id = execution.ids.get(purpose);
  if (!id) {
    id = execution.context.idempotent
      ? nameBasedId(`${execution.context.commandId}/${purpose}`)
      : randomUUID();
    execution.ids.set(purpose, id);
  }
  return id;
};

export const toRecorded = <E extends DomainEvent>(event: StoredEvent): Recorded<E> =>
  ({
    type: event.type,
    data: event.data,
    revision: event.revision,
    time: event.metadata.time,
    commandId: event.metadata.commandId,
  }) as unknown as Recorded<E>;

const track = (execution: Execution, events: StoredEvent[]): void => {
  for (const event of events) {
    if (event.metadata.commandId !== execution.context.commandId) continue;
    execution.own.set(`${event.stream}#${event.revision}`, event);
  }
};

export interface LoadedUser {
  state: UserState;
  /** Position of the stream's last event, or null when it does not exist. */
  position: bigint | null;
}

export const loadUser = async (
  execution: Execution,
  userId: string,
): Promise<LoadedUser> => {
  const events = await execution.services.store.readStream(streams.user(userId));
  track(execution, events);
  return {
    state: replayUser(
      userId,
      events.map((event) => toRecorded<UserEvent>(event)),
    ),
    position: events.at(-1)?.position ?? null,
  };
};

export const loadGuard = async (
  execution: Execution,
  stream: string,
): Promise<GuardState> => {
  const events = await execution.services.store.readStream(stream);
  track(execution, events);
  return events
    .map((event) => toRecorded<IdentityEvent | UsernameEvent>(event))
    .reduce(evolveGuard, initialGuard());
};

export const expectedFrom = (revision: number): ExpectedRevision =>
  revision < 0 ? 'no-stream' : revision;

/**
 * Appends with the exact expected revision. Event ids are derived from the command, the
 * stream and the revision, so an identical retry is recognised by the store.
 */
// Events that give a user identities: they record the policy they were decided under.
const ADDS_CONNECTIONS = new Set<string>(['ProviderLinked', 'UsersMerged']);

export const append = async (
  execution: Execution,
  stream: string,
  events: DomainEvent[],
  expectedRevision: number,
  options: { repair?: boolean; causationId?: string } = {},
): Promise<OwnEvent[]> => {
  if (events.length === 0) return [];
  const { context } = execution;
  const metadata: Omit<EventMetadata, 'schemaVersion'> = {
    actor: context.actor,
    flow: options.repair ? 'repair' : context.flow,
    correlationId: context.correlationId,
    causationId: options.causationId ?? context.commandId,
    requestId: context.requestId,
    commandId: context.commandId,
    time: execution.services.now().toISOString(),
  };
  const proposed: NewEvent[] = events.map((event, index) => ({
    id: nameBasedId(`${context.commandId}/${stream}/${expectedRevision}/${index}`),
    type: event.type,
    data: event.data,
    metadata: {
      ...metadata,
      schemaVersion: SCHEMA_VERSIONS[event.type],
      ...(ADDS_CONNECTIONS.has(event.type) && {
        identitiesPerProvider: execution.services.policy.identitiesPerProvider,
      }),
    },
  }));
  const result = await execution.services.store.append(
    stream,
    proposed,
    expectedFrom(expectedRevision),
  );
  const first = result.nextRevision - events.length + 1;
  const written = proposed.map((event, index) => ({
    stream,
    revision: first + index,
    // The events of one append share the last one's position: they are consecutive in
    // the log, and their revisions keep them in order.
    position: result.position,
    type: event.type,
  }));
  for (const event of written) execution.own.set(`${stream}#${event.revision}`, event);
  return written;
};

/** The events of this command, in log order. */
export const ownEvents = (execution: Execution): OwnEvent[] =>
  [...execution.own.values()].sort((a, b) => (a.position < b.position ? -1 : 1));
