import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectEventStoreDb } from '../../src/eventstore/eventStoreDb.js';
import type { EventStore, StoredEvent } from '../../src/eventstore/port.js';
import { WrongExpectedRevisionError } from '../../src/eventstore/port.js';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../support/eventStoreDb/eventStoreDbDouble.js';
import { testLogger } from '../support/service.js';
import { describeEventStoreContract, newEvent } from './eventStoreContract.js';

const connect = (connectionString: string) =>
  connectEventStoreDb({ connectionString, logger: testLogger(), attempts: 2 });

describeEventStoreContract('EventStoreDB adapter over the protocol double', async () => {
  const double = await startEventStoreDbDouble();
  let store = await connect(double.connectionString);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = await connect(double.connectionString);
      return store;
    },
    cleanup: async () => {
      await store.close();
      await double.close();
    },
  };
});

// The same suite against a real server, when the tests are given one.
const realServer = process.env.EVENTSTORE_URL;
if (realServer) {
  describeEventStoreContract('EventStoreDB adapter at EVENTSTORE_URL', async () => {
    let store = await connect(realServer);
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await connect(realServer);
        return store;
      },
      cleanup: () => store.close(),
    };
  });
}

describe('the EventStoreDB adapter', () => {
  let double: EventStoreDbDouble;
  let store: EventStore;
  beforeEach(async () => {
    double = await startEventStoreDbDouble();
    store = await connect(double.connectionString);
  });
  afterEach(async () => {
    await store.close();
    await double.close();
  });

  const stream = () => `user-${crypto.randomUUID()}`;

  it('leaves system events and other applications’ streams out of $all', async () => {
    await store.append(stream(), [newEvent('Ours')], 'no-stream');
    const all = await store.readAll({ after: null, limit: 1000 });
    expect(all.map((e) => e.type)).toEqual(['Ours']);
    expect(await store.headPosition()).toBe(all[0]!.position);
  });

  it('uses BatchAppend, as a production server offers it', async () => {
    await store.append(stream(), [newEvent()], 'no-stream');
    expect(double.callCount('BatchAppend')).toBeGreaterThan(0);
    expect(double.callCount('Append')).toBe(0);
  });

  it('reports a wrong expected revision as the port’s conflict, with the actual revision', async () => {
    const name = stream();
    await store.append(name, [newEvent(), newEvent()], 'no-stream');
    const error = await store.append(name, [newEvent()], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect((error as WrongExpectedRevisionError).actual).toBe(1);
  });

  it('keeps commit and prepare positions, packed into one growing number', async () => {
    const first = await store.append(stream(), [newEvent()], 'no-stream');
    const second = await store.append(stream(), [newEvent()], 'no-stream');
    expect(second.position > first.position).toBe(true);
    expect(first.position >= 1n << 64n).toBe(true);
  });

  it('delivers events appended while a subscription catches up, each once', async () => {
    const name = stream();
    for (let i = 0; i < 50; i += 1)
      await store.append(name, [newEvent(`E${i}`)], i - 1 < 0 ? 'no-stream' : i - 1);
    const abort = new AbortController();
    const seen: StoredEvent[] = [];
    const done = (async () => {
      for await (const event of store.subscribe({ after: null, signal: abort.signal })) {
        seen.push(event);
        if (seen.length === 100) abort.abort();
      }
    })();
    for (let i = 50; i < 100; i += 1)
      await store.append(name, [newEvent(`E${i}`)], i - 1);
    await done;
    expect(seen.map((e) => e.type)).toEqual(
      Array.from({ length: 100 }, (_, i) => `E${i}`),
    );
  });

  it('resumes a dropped subscription from the last event it delivered', async () => {
    const name = stream();
    await store.append(name, [newEvent('Before')], 'no-stream');
    const abort = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const event of store.subscribe({ after: null, signal: abort.signal })) {
        seen.push(event.type);
        if (event.type === 'Before') {
          double.dropConnections();
          await store.append(name, [newEvent('WhileDown')], 0);
        }
        if (event.type === 'After') abort.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store.append(name, [newEvent('After')], 1);
    await done;
    expect(seen).toEqual(['Before', 'WhileDown', 'After']);
  });

  it('says clearly, at start, that the server cannot be reached', async () => {
    await expect(connect('esdb://127.0.0.1:9?tls=false')).rejects.toThrow(
      /EventStoreDB at esdb:\/\/127\.0\.0\.1:9\?tls=false is unreachable/,
    );
  });
});
