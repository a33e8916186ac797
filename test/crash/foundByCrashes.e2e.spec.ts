import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { apiClient } from '../support/client.js';
import { SimulatedCrash } from '../support/faults.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';
import { exportedLog, unerasedPersonalData } from './crashChecks.js';

/**
 * Regression tests for what the crash suite (crash.e2e.spec.ts) found, each with the
 * moment of the kill made certain instead of left to chance.
 */

/** A log that takes an append matching `matches`, then "dies" before answering. */
const crashAfter = (
  store: EventStore,
  matches: (types: string[]) => boolean,
): EventStore => {
  let fired = false;
  return {
    ...store,
    append: async (stream, events, expected) => {
      const result = await store.append(stream, events, expected);
      if (!fired && matches(events.map((event) => event.type))) {
        fired = true;
        throw new SimulatedCrash(stream);
      }
      return result;
    },
  };
};

describe('a kill between appending UserErased and destroying the user key', () => {
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const erasedAndKilled = async (env: Record<string, string> = {}) => {
    service = await startTestService(env, {
      eventStore: (config) =>
        crashAfter(
          openSqliteEventStore({ file: join(config.dataDir, 'events.sqlite') }),
          (types) => types.includes('UserErased'),
        ),
    });
    const api = apiClient(service.url, service.services.store);
    const registered = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'erased-1',
      profile: { displayName: 'Erin Erased', email: 'erin@example.test' },
    });
    expect(registered.status).toBe(201);
    const userId = registered.body.userId;
    const killed = await api.command('erase-user', { userId }, { headers: KEY });
    expect(killed.status).toBe(500);

    service = await service.restart({
      eventStore: openSqliteEventStore({ file: join(service.dataDir, 'events.sqlite') }),
    });
    return userId;
  };
  const KEY = { 'idempotency-key': 'erase-erin' };

  const expectErased = async (userId: string) => {
    const log = await exportedLog(service.url, AUDITOR);
    expect(log.filter((event) => event.type === 'UserErased')).toHaveLength(1);
    expect(unerasedPersonalData(log)).toEqual([]);
    const text = JSON.stringify(log.map((event) => event.data));
    expect(text).not.toContain('Erin Erased');
    expect(text).not.toContain('erin@example.test');
    const user = await apiClient(service.url, service.services.store).get(
      `/api/users/${userId}`,
    );
    expect(user.body).toEqual({ userId, status: 'erased' });
  };

  it('leaves no personal data readable once the erasure is sent again', async () => {
    const userId = await erasedAndKilled();
    const api = apiClient(service.url, service.services.store);

    const retried = await api.command('erase-user', { userId }, { headers: KEY });

    expect(retried.status).toBe(200);
    expect(retried.body.events).toContain('UserErased');
    await expectErased(userId);
  });

  it('leaves no personal data readable once the reconciler at start has run', async () => {
    const userId = await erasedAndKilled({ REPAIR_GRACE_SECONDS: '0' });

    // Nobody sends the erasure again: the claim it left open is settled at start.
    const log = await exportedLog(service.url, AUDITOR);
    expect(log.map((event) => [event.type, event.metadata.flow])).toContainEqual([
      'IdentityReleased',
      'repair',
    ]);
    await expectErased(userId);
  });
});
