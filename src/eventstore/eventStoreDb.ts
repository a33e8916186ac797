import { setTimeout as sleep } from 'node:timers/promises';
import {
  ANY,
  AccessDeniedError,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
  type AppendExpectedRevision,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import type { Logger } from 'pino';
import { STREAM_PREFIXES } from '../domain/values.js';
import {
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type StoredEvent,
} from './port.js';

export interface EventStoreDbOptions {
  /** An `esdb://` (or `esdb+discover://`) connection string. */
  connectionString: string;
  logger: Logger;
  /** How many times a read, or an append that is safe to repeat, is tried on a failure. */
  attempts?: number;
}

/** EventStoreDB could not be reached; the message says where and what to check. */
export class EventStoreUnavailableError extends Error {
  constructor(where: string, cause: unknown) {
    const reason = describe(cause);
    const hint = /wrong version number|ssl|tls/i.test(reason)
      ? 'the server may have no TLS: add ?tls=false to EVENTSTORE_URL'
      : cause instanceof AccessDeniedError
        ? 'the user in EVENTSTORE_URL may not read $all: grant it, or use one in $admins'
        : 'check EVENTSTORE_URL and that the server is up';
    super(`EventStoreDB at ${where} is unreachable (${reason}): ${hint}`);
    this.name = 'EventStoreUnavailableError';
  }
}

/**
 * A log position in this service is one number. EventStoreDB's is a (commit, prepare)
 * pair, ordered by commit then prepare: both are kept, packed into one bigint.
 */
export const packPosition = ({ commit, prepare }: Position): bigint =>
  (commit << 64n) | prepare;

export const unpackPosition = (position: bigint): Position => ({
  commit: position >> 64n,
  prepare: position & 0xffff_ffff_ffff_ffffn,
});

type Recorded = NonNullable<ResolvedEvent['event']>;

/**
 * The event store port on EventStoreDB, through the official client. Appends always state
 * their expected revision (event ids derived from the command make a retried append a
 * duplicate the server recognises); `$all` is read and followed with system and foreign
 * streams filtered out; a dropped subscription resumes from the last event it delivered.
 */
export const connectEventStoreDb = async (
  options: EventStoreDbOptions,
): Promise<EventStore> => {
  const { logger } = options;
  const attempts = options.attempts ?? 3;
  const where = redact(options.connectionString);
  if (/[?&]tls=false/i.test(options.connectionString) && where.includes('***@')) {
    logger.warn(
      'EVENTSTORE_URL has credentials, but with tls=false the client never sends them',
    );
  }
  const client = EventStoreDBClient.connectionString(options.connectionString);
  let closed = false;

  const ours = (event: Recorded): boolean =>
    STREAM_PREFIXES.some((prefix) => event.streamId.startsWith(prefix));

  const toStored = (event: Recorded): StoredEvent => {
    if (!event.position)
      throw new Error(`EventStoreDB sent ${event.streamId} without a position`);
    return {
      stream: event.streamId,
      revision: Number(event.revision),
      position: packPosition(event.position),
      id: event.id,
      type: event.type,
      data: event.data as Record<string, unknown>,
      metadata: event.metadata as unknown as EventMetadata,
    };
  };

  // Reads are always safe to repeat; appends only with an exact expected revision (or
  // "no stream"), where the server recognises a repeated write by its event ids.
  const retrying = async <T>(work: () => Promise<T>, safe = true): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        if (!safe || attempt >= attempts || closed)
          throw new EventStoreUnavailableError(where, error);
        logger.warn(
          { attempt, reason: describe(error) },
          'EventStoreDB unavailable; retrying',
        );
        await sleep(100 * 2 ** attempt);
      }
    }
  };

  const readAllPage = async (
    from: Position | typeof START | typeof END,
    count: number,
    direction: typeof FORWARDS | typeof BACKWARDS,
  ): Promise<Recorded[]> =>
    retrying(async () => {
      const events: Recorded[] = [];
      for await (const resolved of client.readAll({
        fromPosition: from,
        maxCount: count,
        direction,
        deadline: READ_DEADLINE_MS,
      })) {
        if (resolved.event) events.push(resolved.event);
      }
      return events;
    });

  const lastPositionOf = async (stream: string): Promise<Position> =>
    retrying(async () => {
      for await (const resolved of client.readStream(stream, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
        deadline: READ_DEADLINE_MS,
      })) {
        if (resolved.event?.position) return resolved.event.position;
      }
      throw new Error(`EventStoreDB gave no position for the last event of ${stream}`);
    });

  const store: EventStore = {
    append: async (stream, events, expected) => {
      const proposed = events.map((event) =>
        jsonEvent({
          id: event.id,
          type: event.type,
          data: event.data as Record<string, unknown>,
          metadata: event.metadata as unknown as Record<string, unknown>,
        }),
      );
      try {
        const result = await retrying(
          () =>
            client.appendToStream(stream, proposed, {
              expectedRevision: toExpected(expected),
            }),
          expected !== 'any' && expected !== 'exists',
        );
        // A write the server recognised as a repeat may come back without a position:
        // the stream's last event then tells it.
        const position = result.position ?? (await lastPositionOf(stream));
        return {
          nextRevision: Number(result.nextExpectedRevision),
          position: packPosition(position),
        };
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          const actual = error.actualVersion;
          throw new WrongExpectedRevisionError(
            stream,
            expected,
            typeof actual === 'bigint' ? Number(actual) : 'no-stream',
          );
        }
        throw error;
      }
    },

    readStream: async (stream) =>
      retrying(async () => {
        const events: StoredEvent[] = [];
        try {
          for await (const resolved of client.readStream(stream, {
            direction: FORWARDS,
            fromRevision: START,
            deadline: READ_DEADLINE_MS,
          })) {
            if (resolved.event) events.push(toStored(resolved.event));
          }
        } catch (error) {
          // A stream never written, or deleted, reads as empty.
          if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError)
            return [];
          throw error;
        }
        return events;
      }),

    // Reads are inclusive of their start and `$all` holds others' events: read pages until
    // enough of ours are found or the log ends.
    readAll: async ({ after, limit }) => {
      const found: StoredEvent[] = [];
      let from: Position | typeof START = after === null ? START : unpackPosition(after);
      let skipThrough = after;
      const page = Math.max(limit, 100);
      for (;;) {
        const events = await readAllPage(from, page, FORWARDS);
        for (const event of events) {
          const stored = event.position ? packPosition(event.position) : null;
          if (stored === null || (skipThrough !== null && stored <= skipThrough))
            continue;
          skipThrough = stored;
          if (!ours(event)) continue;
          found.push(toStored(event));
          if (found.length === limit) return found;
        }
        if (events.length < page) return found;
        from = unpackPosition(skipThrough as bigint);
      }
    },

    subscribe: async function* ({ after, signal }) {
      let position = after;
      let failures = 0;
      while (!closed && !signal?.aborted) {
        // Subscriptions start after their position (exclusive), as the port does.
        const subscription = client.subscribeToAll({
          fromPosition: position === null ? START : unpackPosition(position),
          filter: streamNameFilter({ prefixes: [...STREAM_PREFIXES] }),
        });
        const stop = () => void subscription.unsubscribe().catch(() => {});
        signal?.addEventListener('abort', stop, { once: true });
        try {
          for await (const resolved of subscription) {
            const event = resolved.event;
            if (!event || !ours(event)) continue;
            failures = 0;
            const stored = toStored(event);
            position = stored.position;
            yield stored;
          }
          // A subscription only ends when told to; ending otherwise is a drop.
          if (closed || signal?.aborted) return;
          throw new Error('the subscription ended');
        } catch (error) {
          if (closed || signal?.aborted) return;
          failures += 1;
          const wait = Math.min(100 * 2 ** failures, 10_000);
          logger.warn(
            { reason: describe(error), wait },
            'subscription to $all dropped; resubscribing',
          );
          await sleep(wait, undefined, { signal }).catch(() => {});
        } finally {
          signal?.removeEventListener('abort', stop);
          await subscription.unsubscribe().catch(() => {});
        }
      }
    },

    // The last event of ours: `$all` may end with system or foreign events.
    headPosition: async () => {
      let from: Position | typeof END = END;
      let seenDownTo: bigint | null = null;
      for (;;) {
        const events = await readAllPage(from, 100, BACKWARDS);
        // Backwards reads are inclusive too: leave out what the last page showed.
        const fresh =
          seenDownTo === null
            ? events
            : events.filter((event) => packPosition(event.position!) < seenDownTo!);
        const last = fresh.find(ours);
        if (last) return toStored(last).position;
        if (events.length < 100 || fresh.length === 0) return null;
        from = fresh.at(-1)!.position!;
        seenDownTo = packPosition(from);
      }
    },

    close: async () => {
      closed = true;
      await client.dispose();
    },
  };

  // Fail at start, clearly, rather than at the first command.
  try {
    await readAllPage(END, 1, BACKWARDS);
  } catch (error) {
    await client.dispose();
    throw error instanceof EventStoreUnavailableError
      ? error
      : new EventStoreUnavailableError(where, error);
  }
  logger.info({ eventStore: where }, 'connected to EventStoreDB');
  return store;
};

// Reads have no deadline of their own in the client: a server that hangs would hang them.
const READ_DEADLINE_MS = 10_000;

const toExpected = (expected: ExpectedRevision): AppendExpectedRevision => {
  if (expected === 'no-stream') return NO_STREAM;
  if (expected === 'any') return ANY;
  if (expected === 'exists') return STREAM_EXISTS;
  return BigInt(expected);
};

// The client reports the first failure of a fresh channel as a raw gRPC error (code 14),
// later ones as UnavailableError.
const isUnavailable = (error: unknown): boolean =>
  error instanceof UnavailableError ||
  error instanceof DeadlineExceededError ||
  (error as { code?: unknown })?.code === 14 ||
  (error as { code?: unknown })?.code === 4;

const describe = (error: unknown): string =>
  error instanceof Error ? error.message.split('\n')[0]! : String(error);

/**
 * The connection string without credentials, for logs and messages. Everything between
 * the scheme and the last "@" before the query is the user information, whatever
 * characters the password holds.
 */
export const redact = (connectionString: string): string =>
  connectionString.replace(/^([a-z+]+:\/\/)[^?]*@/i, '$1***@');

// The options the client reads from the connection string (it ignores others, and warns
// with the whole string, password included: so unknown ones are refused here first).
const KNOWN_OPTIONS = [
  'userCertFile',
  'userKeyFile',
  'maxDiscoverAttempts',
  'connectionName',
  'defaultDeadline',
  'discoveryInterval',
  'gossipTimeout',
  'nodePreference',
  'tls',
  'tlsCAFile',
  'keepAliveInterval',
  'keepAliveTimeout',
];

/**
 * What is wrong with an EventStoreDB connection string, in words that never repeat its
 * credentials; null when nothing is.
 */
export const connectionStringProblem = (connectionString: string): string | null => {
  const query = connectionString.includes('?')
    ? connectionString.split('?').slice(1).join('?')
    : '';
  for (const pair of query.split('&').filter(Boolean)) {
    const key = pair.split('=')[0] ?? '';
    const known = KNOWN_OPTIONS.find(
      (option) => option.toLowerCase() === key.toLowerCase(),
    );
    if (!known) return `unknown option "${key}" (known: ${KNOWN_OPTIONS.join(', ')})`;
  }
  try {
    EventStoreDBClient.connectionString(connectionString);
  } catch (error) {
    const { location, expected } = error as {
      location?: [number, number];
      expected?: string;
    };
    return location
      ? `not a valid connection string: at character ${location[0]}, expected ${expected}`
      : 'not a valid connection string';
  }
  return null;
};
