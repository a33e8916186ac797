import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../src/eventstore/port.js';

export interface EventStoreFixture {
  store: EventStore;
  /** Closes the store and opens it again on the same data, for durable adapters. */
  reopen?: () => Promise<EventStore>;
  cleanup: () => Promise<void>;
}

const metadata = (): EventMetadata => ({
  schemaVersion: 1,
  actor: 'contract-test',
  flow: 'api',
  correlationId: randomUUID(),
  causationId: randomUUID(),
  requestId: null,
  commandId: randomUUID(),
  time: new Date().toISOString(),
});

export const newEvent = (type = 'Happened', data: object = { n: 1 }): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: metadata(),
});

const uniqueStream = (prefix = 'user') => `${prefix}-${randomUUID()}`;

const collect = async (
  iterable: AsyncIterable<StoredEvent>,
  count: number,
): Promise<StoredEvent[]> => {
  const events: StoredEvent[] = [];
  for await (const event of iterable) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
};

/**
 * The behaviour every event store adapter must have. Each adapter's spec calls this with
 * a factory; the same assertions run against SQLite and EventStoreDB.
 */
export const describeEventStoreContract = (
  name: string,
  factory: () => Promise<EventStoreFixture>,
): void => {
  describe(`event store contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('append', () => {
      it('creates a stream at revision 0 when no stream is expected', async () => {
        const stream = uniqueStream();
        const result = await store.append(stream, [newEvent()], 'no-stream');
        expect(result.nextRevision).toBe(0);
        const [read] = await store.readStream(stream);
        expect(read!.position).toBe(result.position);
      });

      it('numbers several events of one append consecutively', async () => {
        const stream = uniqueStream();
        const result = await store.append(
          stream,
          [newEvent('A'), newEvent('B'), newEvent('C')],
          'no-stream',
        );
        expect(result.nextRevision).toBe(2);
        const read = await store.readStream(stream);
        expect(read.map((e) => [e.revision, e.type])).toEqual([
          [0, 'A'],
          [1, 'B'],
          [2, 'C'],
        ]);
        expect(read.at(-1)!.position).toBe(result.position);
        expect(read[0]!.position < read[1]!.position).toBe(true);
        expect(read[1]!.position < read[2]!.position).toBe(true);
      });

      it('refuses no-stream when the stream exists, reporting its revision', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent(), newEvent()], 'no-stream');
        const error = await store
          .append(stream, [newEvent()], 'no-stream')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect((error as WrongExpectedRevisionError).actual).toBe(1);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('appends at the exact revision and refuses any other', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()], 'no-stream');
        await expect(store.append(stream, [newEvent()], 0)).resolves.toMatchObject({
          nextRevision: 1,
        });
        const stale = await store
          .append(stream, [newEvent()], 0)
          .catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(WrongExpectedRevisionError);
        expect((stale as WrongExpectedRevisionError).actual).toBe(1);
        const ahead = await store
          .append(stream, [newEvent()], 5)
          .catch((e: unknown) => e);
        expect(ahead).toBeInstanceOf(WrongExpectedRevisionError);
      });

      it('reports a missing stream as no-stream when a revision was expected', async () => {
        const error = await store
          .append(uniqueStream(), [newEvent()], 0)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect((error as WrongExpectedRevisionError).actual).toBe('no-stream');
      });

      it('accepts any revision with "any" and requires a stream with "exists"', async () => {
        const stream = uniqueStream();
        await expect(store.append(stream, [newEvent()], 'exists')).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await store.append(stream, [newEvent()], 'any');
        await store.append(stream, [newEvent()], 'any');
        await expect(store.append(stream, [newEvent()], 'exists')).resolves.toMatchObject(
          {
            nextRevision: 2,
          },
        );
      });

      it('lets exactly one of many concurrent appends at the same revision win', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()], 'no-stream');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            store.append(stream, [newEvent(`E${i}`)], 0),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const loss of lost) {
          expect((loss as PromiseRejectedResult).reason).toBeInstanceOf(
            WrongExpectedRevisionError,
          );
        }
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('accepts an identical retried append once and writes it once', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()], 'no-stream');
        const events = [newEvent('X'), newEvent('Y')];
        const first = await store.append(stream, events, 0);
        const again = await store.append(stream, events, 0);
        expect(again).toEqual(first);
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('refuses a retry whose event ids differ', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()], 'no-stream');
        await store.append(stream, [newEvent('X')], 0);
        await expect(store.append(stream, [newEvent('X')], 0)).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
      });

      it('keeps data, metadata and any Unicode exactly as given', async () => {
        const stream = uniqueStream('identity-github');
        const data = {
          subject: 'ÄÖü ✓ 👩‍💻 "quoted" \\ back',
          nested: { list: [1, null, true] },
        };
        const event = newEvent('Unicode', data);
        await store.append(stream, [event], 'no-stream');
        const [read] = await store.readStream(stream);
        expect(read).toMatchObject({
          stream,
          revision: 0,
          id: event.id,
          type: 'Unicode',
          data,
          metadata: event.metadata,
        });
      });
    });

    describe('read', () => {
      it('reads a stream that does not exist as empty', async () => {
        expect(await store.readStream(uniqueStream())).toEqual([]);
      });

      it('gives positions that only grow across streams, in append order', async () => {
        const a = uniqueStream();
        const b = uniqueStream();
        const p1 = await store.append(a, [newEvent()], 'no-stream');
        const p2 = await store.append(b, [newEvent()], 'no-stream');
        const p3 = await store.append(a, [newEvent(), newEvent()], 0);
        const all = [p1.position, p2.position, p3.position];
        for (let i = 1; i < all.length; i += 1) {
          expect(all[i]! > all[i - 1]!).toBe(true);
        }
      });

      it('reads the whole log after a position, exclusive, in order, with a limit', async () => {
        const before = await store.headPosition();
        const stream = uniqueStream();
        await store.append(
          stream,
          [newEvent('A'), newEvent('B'), newEvent('C')],
          'no-stream',
        );
        const positions = (await store.readStream(stream)).map((e) => e.position);
        const ours = (await store.readAll({ after: before, limit: 1000 })).filter(
          (e) => e.stream === stream,
        );
        expect(ours.map((e) => e.type)).toEqual(['A', 'B', 'C']);
        const afterFirst = await store.readAll({ after: positions[0]!, limit: 1 });
        expect(afterFirst).toHaveLength(1);
        expect(afterFirst[0]).toMatchObject({
          stream,
          type: 'B',
          position: positions[1],
        });
      });

      it('reports the head position of the log', async () => {
        const { position } = await store.append(
          uniqueStream(),
          [newEvent()],
          'no-stream',
        );
        expect(await store.headPosition()).toBe(position);
      });
    });

    describe('subscribe', () => {
      it('delivers past events after the position, then live ones, once each', async () => {
        const stream = uniqueStream();
        const start = await store.headPosition();
        await store.append(stream, [newEvent('Past')], 'no-stream');
        const abort = new AbortController();
        const seen = collect(
          (async function* () {
            for await (const event of store.subscribe({
              after: start,
              signal: abort.signal,
            })) {
              if (event.stream === stream) yield event;
            }
          })(),
          3,
        );
        await store.append(stream, [newEvent('Live1')], 0);
        await store.append(stream, [newEvent('Live2')], 1);
        const events = await seen;
        abort.abort();
        expect(events.map((e) => e.type)).toEqual(['Past', 'Live1', 'Live2']);
      });

      it('stops when its signal is aborted', async () => {
        const abort = new AbortController();
        const done = (async () => {
          let count = 0;
          for await (const _ of store.subscribe({
            after: await store.headPosition(),
            signal: abort.signal,
          })) {
            count += 1;
          }
          return count;
        })();
        setTimeout(() => abort.abort(), 50);
        await expect(done).resolves.toBe(0);
      });
    });

    describe('durability', () => {
      it('keeps every answered append across a close and reopen', async ({ skip }) => {
        if (!fixture.reopen) skip('this adapter is not durable across reopen');
        const stream = uniqueStream();
        await Promise.all([
          store.append(stream, [newEvent('A')], 'no-stream'),
          store.append(uniqueStream(), [newEvent('B')], 'no-stream'),
        ]);
        store = await fixture.reopen!();
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A']);
      });
    });
  });
};
