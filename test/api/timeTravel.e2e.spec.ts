import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userView } from '../../src/http/views.js';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';
import { referenceReplay } from '../support/replay.js';

interface AuditEvent {
  stream: string;
  position: string;
  type: string;
  metadata: { time: string };
}

describe('time travel: the state at a past time is what was true then', () => {
  let service: TestService;
  let api: ApiClient;
  beforeAll(async () => {
    service = await startTestService();
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const stateAt = (userId: string, at: string) =>
    api.get(`/api/audit/users/${userId}/state?at=${encodeURIComponent(at)}`, {
      token: AUDITOR,
    });

  /** A life with links, an unlink, a merge and a password, seen as it happened. */
  let lives = 0;
  const live = async () => {
    const n = (lives += 1);
    const snapshots: { at: string; user: unknown }[] = [];
    const see = async (userId: string) => {
      // What a client saw at the time (the read model, consistent with the log) ...
      const user = (await api.get(`/api/users/${userId}`)).body;
      // ... at an instant after that and before anything else happens.
      await sleep(3);
      snapshots.push({ at: new Date().toISOString(), user });
      await sleep(3);
    };
    const { userId } = await registerViaProvider(api, 'github', `tt-1-${n}`, {
      displayName: 'Tess Then',
      email: `tess${n}@example.com`,
      emailVerified: true,
    });
    await see(userId);
    await api.command('link-provider', {
      userId,
      provider: 'google',
      subject: `tt-g1-${n}`,
    });
    await see(userId);
    await api.command('unlink-provider', {
      userId,
      provider: 'google',
      subject: `tt-g1-${n}`,
    });
    await see(userId);
    const other = await registerViaProvider(api, 'google', `tt-g2-${n}`, {
      displayName: 'Tess Too',
    });
    await api.command('merge-users', { survivorId: userId, mergedId: other.userId });
    await see(userId);
    return { userId, snapshots, subject: `tt-1-${n}` };
  };

  it('answers, for each moment a client looked, what the client saw then', async () => {
    const { userId, snapshots } = await live();
    expect(snapshots).toHaveLength(4);
    for (const { at, user } of snapshots) {
      const then = await stateAt(userId, at);
      expect(then.status).toBe(200);
      expect(then.body).toEqual(user);
    }
    // They differ from each other: the check compares something.
    expect(new Set(snapshots.map((s) => JSON.stringify(s.user))).size).toBe(4);
  });

  it("equals, at each event's time, the whole log replayed up to that event", async () => {
    const { userId } = await live();
    const history = await api.get<{ events: AuditEvent[] }>(
      `/api/audit/users/${userId}/events`,
      { token: AUDITOR },
    );
    const log = await service.services.store.readAll({ after: null, limit: 100_000 });
    const own = history.body.events.filter((e) => e.stream === `user-${userId}`);
    expect(own.length).toBeGreaterThanOrEqual(5);
    for (const event of own) {
      const at = event.metadata.time;
      // Everything written up to that time (events of one command share an instant).
      const until = log.filter((e) => Date.parse(e.metadata.time) <= Date.parse(at));
      const doc = referenceReplay(until).getUser(userId);
      const then = await stateAt(userId, at);
      expect(then.status).toBe(200);
      expect(then.body).toEqual(userView(doc!));
    }
  });

  it('shows past states of an erased person with "[erased]" where the data was', async () => {
    const { userId, snapshots, subject } = await live();
    await api.command('erase-user', { userId });
    const first = await stateAt(userId, snapshots[0]!.at);
    expect(first.body).toMatchObject({
      status: 'active',
      displayName: '[erased]',
      email: '[erased]',
      connections: [{ provider: 'github', subject, email: '[erased]' }],
    });
    expect(JSON.stringify(first.body)).not.toContain('tess');
    const now = await stateAt(userId, new Date().toISOString());
    expect(now.body).toEqual({ userId, status: 'erased' });
  });
});
