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

describe('EventStoreDB connection strings', () => {
  it('never show credentials, whatever the password holds', async () => {
    const { redact } = await import('../../src/eventstore/eventStoreDb.js');
    for (const url of [
      'esdb://admin:Sup3rSecretPw@127.0.0.1:2113?tls=false',
      'esdb://admin:Sup3r/SecretPw@127.0.0.1:2113',
      'esdb://admin:p@ss@host:2113?tls=true',
    ]) {
      expect(redact(url)).not.toMatch(/Sup3r|SecretPw|p@ss|ss@/);
      expect(redact(url)).toContain('***@');
    }
  });

  it('are refused at start with the option that is wrong, and no credentials', async () => {
    const { connectionStringProblem } =
      await import('../../src/eventstore/eventStoreDb.js');
    expect(
      connectionStringProblem(
        'esdb://admin:Secret@127.0.0.1:2113?tls=false&keepAliveIntervl=1',
      ),
    ).toMatch(/unknown option "keepAliveIntervl"/);
    const bad = connectionStringProblem('esdb://admin:Secret@127.0.0.1:notaport');
    expect(bad).toMatch(/not a valid connection string/);
    expect(bad).not.toContain('Secret');
    expect(connectionStringProblem('esdb://127.0.0.1:2113?tls=false')).toBeNull();
  });
});

describe('a service whose EventStoreDB goes away', () => {
  it('answers 503 unavailable and is not ready, then recovers on the same address', async () => {
    const { startTestService, removeDataDir } = await import('../support/service.js');
    const { apiClient } = await import('../support/client.js');
    const double = await startEventStoreDbDouble();
    const service = await startTestService({ EVENTSTORE_URL: double.connectionString });
    const api = apiClient(service.url);
    try {
      expect(
        (await api.command('register-via-provider', { provider: 'github', subject: '1' }))
          .status,
      ).toBe(201);
      await double.close();
      const down = await api.command('register-via-provider', {
        provider: 'github',
        subject: '2',
      });
      expect(down.status).toBe(503);
      expect(down.body.code).toBe('unavailable');
      expect((await api.get('/readyz', { token: null })).status).toBe(503);

      const again = await startEventStoreDbDouble({ port: double.port });
      try {
        const back = await api.command('register-via-provider', {
          provider: 'github',
          subject: '3',
        });
        expect(back.status).toBe(201);
      } finally {
        await again.close();
      }
    } finally {
      await service.stop();
      removeDataDir(service);
    }
  }, 60_000);
});
