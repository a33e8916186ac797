/**
 * The EventStoreDB double, driven by the real `@eventstore/db-client`: these tests pin down the
 * server behaviour an adapter relies on, so that a test passing against the double means
 * something against EventStoreDB.
 */
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Filter,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type StreamSubscription,
} from '@eventstore/db-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../support/eventStoreDb/eventStoreDbDouble.js';

let double: EventStoreDbDouble;
let client: EventStoreDBClient;
let subscriptions: (StreamSubscription | AllStreamSubscription)[] = [];

beforeEach(async () => {
  double = await startEventStoreDbDouble();
  client = EventStoreDBClient.connectionString(double.connectionString);
});

afterEach(async () => {
  await Promise.all(subscriptions.map((subscription) => subscription.unsubscribe()));
  subscriptions = [];
  await client.dispose();
  await double.close();
});

describe('appending', () => {
  it('appends through BatchAppend, as production does, and reads back every field', async () => {
    const stream = streamName();
    const id = randomUUID().toUpperCase();
    const before = Date.now();

    const result = await client.appendToStream(
      stream,
      [
        jsonEvent({
          id,
          type: 'ProviderLinked',
          data: { provider: 'github' },
          metadata: META,
        }),
        jsonEvent({ type: 'ProviderUnlinked', data: { provider: 'github' } }),
      ],
      { expectedRevision: 'no_stream' },
    );
    const [linked, unlinked] = await eventsOf(stream);

    expect(double.callCount('GetSupportedMethods')).toBe(1);
    expect(double.callCount('BatchAppend')).toBe(1);
    expect(double.callCount('Append')).toBe(0);
    expect(result).toMatchObject({ success: true, nextExpectedRevision: 1n });
    expect(linked).toMatchObject({
      streamId: stream,
      id: id.toLowerCase(),
      revision: 0n,
      type: 'ProviderLinked',
      data: { provider: 'github' },
      metadata: META,
      isJson: true,
    });
    expect(unlinked).toMatchObject({ revision: 1n, type: 'ProviderUnlinked' });
    expect(unlinked?.position).toEqual(result.position);
    expect(linked?.position?.commit).toBeLessThan(unlinked?.position?.commit ?? 0n);
    expect(linked?.created.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(linked?.created.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('places events at positions that only grow, by amounts unrelated to their count', async () => {
    const stream = streamName();
    const positions: bigint[] = [];
    for (const size of [1, 40, 3, 200, 7]) {
      const result = await client.appendToStream(
        stream,
        jsonEvent({ type: 'Noted', data: { text: 'x'.repeat(size) } }),
      );
      positions.push(result.position?.commit ?? -1n);
    }

    const steps = positions
      .slice(1)
      .map((position, i) => position - (positions[i] ?? 0n));
    expect(steps.every((step) => step > 0n)).toBe(true);
    expect(new Set(steps).size).toBeGreaterThan(1);
    expect(positions.some((position, i) => position === BigInt(i))).toBe(false);
  });

  it('accepts no_stream, an exact revision, any and stream_exists when they hold', async () => {
    const stream = streamName();
    const revisions: AppendExpectedRevision[] = ['no_stream', 0n, 'any', 'stream_exists'];

    const results = [];
    for (const expectedRevision of revisions) {
      results.push(await client.appendToStream(stream, event(), { expectedRevision }));
    }

    expect(results.map((result) => result.nextExpectedRevision)).toEqual([
      0n,
      1n,
      2n,
      3n,
    ]);
  });

  it.each<{
    case: string;
    existing: number;
    expectedRevision: AppendExpectedRevision;
    expectedVersion: CurrentRevision | AppendExpectedRevision;
    actualVersion: CurrentRevision;
  }>([
    {
      case: 'no_stream on a stream that exists',
      existing: 2,
      expectedRevision: 'no_stream',
      expectedVersion: 'no_stream',
      actualVersion: 1n,
    },
    {
      case: 'a stale revision',
      existing: 2,
      expectedRevision: 0n,
      expectedVersion: 0n,
      actualVersion: 1n,
    },
    {
      case: 'a revision beyond the end',
      existing: 2,
      expectedRevision: 5n,
      expectedVersion: 5n,
      actualVersion: 1n,
    },
    {
      case: 'a revision on a missing stream',
      existing: 0,
      expectedRevision: 0n,
      expectedVersion: 0n,
      actualVersion: 'no_stream',
    },
    {
      case: 'stream_exists on a missing stream',
      existing: 0,
      expectedRevision: 'stream_exists',
      expectedVersion: 'stream_exists',
      actualVersion: 'no_stream',
    },
  ])(
    'rejects $case with WrongExpectedVersionError naming both versions, writing nothing',
    async ({ existing, expectedRevision, expectedVersion, actualVersion }) => {
      const stream = streamName();
      if (existing > 0) await client.appendToStream(stream, events(existing));

      const failure = await failureOf(
        client.appendToStream(stream, event(), { expectedRevision }),
      );

      expect(failure).toBeInstanceOf(WrongExpectedVersionError);
      expect(failure).toMatchObject({
        streamName: stream,
        expectedVersion,
        actualVersion,
      });
      expect(await countOf(stream)).toBe(existing);
    },
  );

  it('answers a retried append (same ids and expectation) with the first result', async () => {
    const stream = streamName();
    const first = events(2);
    const second = events(1);

    const original = await client.appendToStream(stream, first, {
      expectedRevision: 'no_stream',
    });
    const retried = await client.appendToStream(stream, first, {
      expectedRevision: 'no_stream',
    });
    const next = await client.appendToStream(stream, second, { expectedRevision: 1n });
    const nextRetried = await client.appendToStream(stream, second, {
      expectedRevision: 1n,
    });

    expect(retried).toEqual(original);
    expect(nextRetried).toEqual(next);
    expect(await countOf(stream)).toBe(3);
  });

  it('holds event ids unique per write only, not across streams or revisions', async () => {
    const stream = streamName();
    const other = streamName();
    const [a, b] = [event(), event()];
    await client.appendToStream(stream, [a, b], { expectedRevision: 'no_stream' });

    await client.appendToStream(other, a, { expectedRevision: 'no_stream' });
    const again = await client.appendToStream(stream, a, { expectedRevision: 1n });
    const partRetry = await failureOf(
      client.appendToStream(stream, [a, event()], { expectedRevision: 'no_stream' }),
    );

    expect(await countOf(other)).toBe(1);
    expect(again.nextExpectedRevision).toBe(2n);
    expect(partRetry).toBeInstanceOf(WrongExpectedVersionError);
    expect(await countOf(stream)).toBe(3);
  });

  it('serves the plain Append call, used when a call carries credentials, alike', async () => {
    const stream = streamName();
    const credentials = { username: 'admin', password: 'changeit' };

    const result = await client.appendToStream(stream, event(), {
      expectedRevision: 'no_stream',
      credentials,
    });
    const failure = await failureOf(
      client.appendToStream(stream, event(), {
        expectedRevision: 'no_stream',
        credentials,
      }),
    );

    expect(double.callCount('Append')).toBe(2);
    expect(double.callCount('BatchAppend')).toBe(0);
    expect(result).toMatchObject({ success: true, nextExpectedRevision: 0n });
    expect(failure).toBeInstanceOf(WrongExpectedVersionError);
    expect(failure).toMatchObject({ expectedVersion: 'no_stream', actualVersion: 0n });
  });
});

describe('reading', () => {
  it('reads a stream that was never written as StreamNotFoundError', async () => {
    const stream = streamName();

    const failure = await failureOf(eventsOf(stream));

    expect(failure).toBeInstanceOf(StreamNotFoundError);
    expect(failure).toMatchObject({ streamName: stream });
  });

  it('reads a stream backwards from the end or a revision, up to maxCount events', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(5));

    const fromEnd = await eventsOf(stream, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 2,
    });
    const fromTwo = await eventsOf(stream, { direction: BACKWARDS, fromRevision: 2n });
    const forwards = await eventsOf(stream, { fromRevision: 3n });

    expect(fromEnd.map((e) => e.revision)).toEqual([4n, 3n]);
    expect(fromTwo.map((e) => e.revision)).toEqual([2n, 1n, 0n]);
    expect(forwards.map((e) => e.revision)).toEqual([3n, 4n]);
  });

  it('reads $all forwards from a position inclusively, backwards from it exclusively', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(3));
    const [first, second, third] = await eventsOf(stream);
    const from = second?.position ?? { commit: 0n, prepare: 0n };

    const forwards = await allEvents({ fromPosition: from, maxCount: 5 });
    const backwards = await allEvents({
      fromPosition: from,
      direction: BACKWARDS,
      maxCount: 1,
    });

    expect(forwards.map((e) => e.id)).toEqual([second?.id, third?.id]);
    expect(backwards.map((e) => e.id)).toEqual([first?.id]);
  });

  it("shows system and other applications' events in $all, but no epoch records", async () => {
    const stream = streamName();
    await client.appendToStream(stream, event());

    const all = await allEvents({ fromPosition: START });

    expect(all.at(-1)?.streamId).toBe(stream);
    expect(all.some((e) => e.streamId.startsWith('$') && e.type.startsWith('$'))).toBe(
      true,
    );
    expect(all.some((e) => !e.streamId.startsWith('$') && e.streamId !== stream)).toBe(
      true,
    );
    expect(all.some((e) => e.streamId === '$epoch-information')).toBe(false);
  });
});

describe('subscribing', () => {
  it('subscribes to $all after a position: confirmation, history, caught up, live', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(3));
    const [first, second, third] = await eventsOf(stream);
    const type = 'ProviderLinked';

    const timeline = follow(client.subscribeToAll({ fromPosition: first?.position }));
    await eventually(() => expect(timeline).toContainEqual({ kind: 'caughtUp' }));
    const live = await client.appendToStream(stream, event());
    await eventually(() => expect(timeline).toHaveLength(5));

    expect(timeline).toEqual([
      { kind: 'confirmation' },
      { kind: 'event', stream, type, revision: 1n, position: second?.position?.commit },
      { kind: 'event', stream, type, revision: 2n, position: third?.position?.commit },
      { kind: 'caughtUp' },
      { kind: 'event', stream, type, revision: 3n, position: live.position?.commit },
    ]);
  });

  it('subscribes to a stream after a revision exclusively, from start inclusively', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(3));

    const afterFirst = follow(client.subscribeToStream(stream, { fromRevision: 0n }));
    const fromStart = follow(client.subscribeToStream(stream, { fromRevision: START }));
    await eventually(() => expect(fromStart).toContainEqual({ kind: 'caughtUp' }));
    await eventually(() => expect(afterFirst).toContainEqual({ kind: 'caughtUp' }));
    await client.appendToStream(stream, event());
    await eventually(() => expect(revisionsOf(fromStart)).toHaveLength(4));
    await eventually(() => expect(revisionsOf(afterFirst)).toHaveLength(3));

    expect(revisionsOf(afterFirst)).toEqual([1n, 2n, 3n]);
    expect(revisionsOf(fromStart)).toEqual([0n, 1n, 2n, 3n]);
    expect(afterFirst.slice(0, 1)).toEqual([{ kind: 'confirmation' }]);
  });

  it.each<{ case: string; filter: (prefix: string) => Filter; expected: string[] }>([
    {
      case: 'stream name prefix',
      filter: (prefix) => streamNameFilter({ prefixes: [prefix] }),
      expected: ['a:ProviderLinked', 'b:ProviderUnlinked'],
    },
    {
      case: 'stream name regex',
      filter: (prefix) => streamNameFilter({ regex: `^${prefix}b$` }),
      expected: ['b:ProviderUnlinked'],
    },
    {
      case: 'event type prefix',
      filter: () => eventTypeFilter({ prefixes: ['ProviderUn'] }),
      expected: ['b:ProviderUnlinked'],
    },
    {
      case: 'event type regex',
      filter: () => eventTypeFilter({ regex: '^Provider.*ed$' }),
      expected: ['a:ProviderLinked', 'other:ProviderLinked', 'b:ProviderUnlinked'],
    },
  ])('filters a subscription to all streams by $case', async ({ filter, expected }) => {
    const prefix = `f${randomUUID().slice(0, 8)}-`;
    await client.appendToStream(`${prefix}a`, event('ProviderLinked'));
    await client.appendToStream(`other-${prefix}`, event('ProviderLinked'));
    await client.appendToStream(`${prefix}b`, event('ProviderUnlinked'));

    const timeline = follow(client.subscribeToAll({ filter: filter(prefix) }));
    await eventually(() => expect(timeline).toContainEqual({ kind: 'caughtUp' }));

    const seen = eventsIn(timeline).map(
      (e) => `${e.stream.replace(prefix, '').replace(/-$/, '')}:${e.type}`,
    );
    expect(seen).toEqual(expected);
  });

  it("hides system events with excludeSystemEvents, not other applications' events", async () => {
    const stream = streamName();
    await client.appendToStream(stream, event());

    const everything = follow(client.subscribeToAll());
    const excluding = follow(client.subscribeToAll({ filter: excludeSystemEvents() }));
    await eventually(() => expect(everything).toContainEqual({ kind: 'caughtUp' }));
    await eventually(() => expect(excluding).toContainEqual({ kind: 'caughtUp' }));

    const types = eventsIn(excluding).map((e) => e.type);
    expect(eventsIn(everything).some((e) => e.type.startsWith('$'))).toBe(true);
    expect(types.some((type) => type.startsWith('$'))).toBe(false);
    expect(eventsIn(excluding).some((e) => e.stream === stream)).toBe(true);
    expect(eventsIn(excluding).some((e) => e.stream !== stream)).toBe(true);
  });

  it('checkpoints every maxSearchWindow x checkpointInterval events examined', async () => {
    const stream = streamName();
    const history = await client.appendToStream(stream, events(10));
    const timeline: Seen[] = [];
    // A filter nothing matches: checkpoints count events examined, not events sent.
    const filter = streamNameFilter({
      prefixes: ['no-such-stream-'],
      maxSearchWindow: 2,
      checkpointInterval: 2,
      checkpointReached: (_subscription, position) => {
        timeline.push({ kind: 'checkpoint', position: position.commit });
      },
    });

    follow(client.subscribeToAll({ filter }), timeline);
    await eventually(() => expect(timeline).toContainEqual({ kind: 'caughtUp' }));
    const beforeLive = checkpointsIn(timeline);
    await client.appendToStream(stream, events(3));
    const fourth = await client.appendToStream(stream, event());
    await eventually(() =>
      expect(checkpointsIn(timeline)).toHaveLength(beforeLive.length + 1),
    );

    expect(eventsIn(timeline)).toEqual([]);
    expect(beforeLive.length).toBeGreaterThanOrEqual(Math.floor(10 / 4));
    expect([...beforeLive].sort((a, b) => Number(a - b))).toEqual(beforeLive);
    // Going live, the server reports where catching up ended.
    expect(beforeLive.at(-1)).toBe(history.position?.commit);
    expect(checkpointsIn(timeline).at(-1)).toBe(fourth.position?.commit);
  });

  it('delivers each event exactly once, in order, while appends race the catch-up', async () => {
    const stream = streamName();
    for (let batch = 0; batch < 5; batch += 1)
      await client.appendToStream(stream, events(10));

    const timeline = follow(client.subscribeToStream(stream));
    for (let batch = 0; batch < 5; batch += 1)
      await client.appendToStream(stream, events(10));
    await eventually(() => expect(revisionsOf(timeline)).toHaveLength(100));

    expect(revisionsOf(timeline)).toEqual(
      Array.from({ length: 100 }, (_, i) => BigInt(i)),
    );
    expect(timeline.filter((seen) => seen.kind === 'caughtUp')).toHaveLength(1);
  });
});

describe('deleting', () => {
  it('soft-deletes: the stream reads as missing, comes back with revisions going on', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(2));

    await client.deleteStream(stream);
    const whileDeleted = await failureOf(eventsOf(stream));
    const recreated = await client.appendToStream(stream, event(), {
      expectedRevision: 'no_stream',
    });
    const all = await allEvents({ fromPosition: START });

    expect(whileDeleted).toBeInstanceOf(StreamNotFoundError);
    expect(recreated.nextExpectedRevision).toBe(2n);
    expect((await eventsOf(stream)).map((e) => e.revision)).toEqual([2n]);
    expect(all.filter((e) => e.streamId === stream).map((e) => e.revision)).toEqual([
      0n,
      1n,
      2n,
    ]);
    expect((await client.getStreamMetadata(stream)).metadata?.truncateBefore).toBe(2);
  });

  it('tombstones: reads, appends and subscriptions then fail with StreamDeletedError', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(2));
    const live = follow(client.subscribeToStream(stream));
    await eventually(() => expect(live).toContainEqual({ kind: 'caughtUp' }));

    await client.tombstoneStream(stream);
    const read = await failureOf(eventsOf(stream));
    const append = await failureOf(client.appendToStream(stream, event()));
    const later = follow(client.subscribeToStream(stream));
    await eventually(() => expect(errorsIn(later)).toHaveLength(1));
    await eventually(() => expect(errorsIn(live)).toHaveLength(1));

    for (const failure of [read, append, ...errorsIn(later), ...errorsIn(live)]) {
      expect(failure).toBeInstanceOf(StreamDeletedError);
      expect(failure).toMatchObject({ streamName: stream });
    }
    // A live subscription sees the tombstone itself before it ends.
    expect(eventsIn(live).at(-1)).toMatchObject({ type: '$streamDeleted' });
  });

  it('rejects a delete whose expected revision fails with WrongExpectedVersionError', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(2));

    const stale = await failureOf(client.deleteStream(stream, { expectedRevision: 0n }));
    // The server reports -2 (any) and -1 (no stream) in headers; the client passes them on.
    const missing = await failureOf(client.deleteStream(streamName()));

    expect(stale).toBeInstanceOf(WrongExpectedVersionError);
    expect(stale).toMatchObject({
      streamName: stream,
      expectedVersion: 0n,
      actualVersion: 1n,
    });
    expect(missing).toMatchObject({ expectedVersion: -2n, actualVersion: -1n });
    expect(await countOf(stream)).toBe(2);
  });
});

describe('dropped connections', () => {
  it('ends an open subscription with UnavailableError and keeps the data', async () => {
    const stream = streamName();
    await client.appendToStream(stream, events(2));
    const timeline = follow(client.subscribeToStream(stream));
    await eventually(() => expect(timeline).toContainEqual({ kind: 'caughtUp' }));

    double.dropConnections();
    await eventually(() => expect(errorsIn(timeline)).toHaveLength(1));

    expect(errorsIn(timeline)[0]).toBeInstanceOf(UnavailableError);
    expect(await countOf(stream)).toBe(2);
  });
});

const META = { actor: 'user-1', flow: 'link' };

type Seen =
  | { kind: 'confirmation' }
  | { kind: 'caughtUp' }
  | { kind: 'event'; stream: string; type: string; revision: bigint; position?: bigint }
  | { kind: 'checkpoint'; position: bigint }
  | { kind: 'error'; error: Error };

const streamName = () => `account-${randomUUID()}`;

const event = (type = 'ProviderLinked'): EventData =>
  jsonEvent({ type, data: { provider: 'github' }, metadata: META });

const events = (count: number) => Array.from({ length: count }, () => event());

const eventsOf = async (stream: string, options?: ReadStreamOptions) => {
  const recorded = [];
  for await (const { event } of client.readStream(stream, options)) {
    if (event) recorded.push(event);
  }
  return recorded;
};

/** How many events a stream holds; none when it does not exist. */
const countOf = async (stream: string) => {
  try {
    return (await eventsOf(stream)).length;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return 0;
    throw error;
  }
};

const allEvents = async (options: ReadAllOptions) => {
  const recorded = [];
  for await (const { event } of client.readAll(options)) if (event) recorded.push(event);
  return recorded;
};

/** Waits for what a subscription reports, which arrives in its own time. */
const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 5_000 });

/** The error a promise rejects with; fails the test if it fulfils. */
const failureOf = (work: Promise<unknown>): Promise<unknown> =>
  work.then(
    () => {
      throw new Error('Expected a failure, got a success');
    },
    (error: unknown) => error,
  );

/** Records what a subscription reports, in order, and unsubscribes it after the test. */
const follow = (
  subscription: StreamSubscription | AllStreamSubscription,
  timeline: Seen[] = [],
): Seen[] => {
  subscriptions.push(subscription);
  subscription.on('confirmation', () => timeline.push({ kind: 'confirmation' }));
  subscription.on('caughtUp', () => timeline.push({ kind: 'caughtUp' }));
  subscription.on('error', (error) => timeline.push({ kind: 'error', error }));
  subscription.on('data', ({ event }: ResolvedEvent | AllStreamResolvedEvent) => {
    if (!event) return;
    const { streamId: stream, type, revision, position } = event;
    timeline.push({ kind: 'event', stream, type, revision, position: position?.commit });
  });
  return timeline;
};

const eventsIn = (timeline: Seen[]) =>
  timeline.flatMap((seen) => (seen.kind === 'event' ? [seen] : []));

const revisionsOf = (timeline: Seen[]) => eventsIn(timeline).map((seen) => seen.revision);

const checkpointsIn = (timeline: Seen[]) =>
  timeline.flatMap((seen) => (seen.kind === 'checkpoint' ? [seen.position] : []));

const errorsIn = (timeline: Seen[]) =>
  timeline.flatMap((seen) => (seen.kind === 'error' ? [seen.error] : []));
