import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

describe('queries', () => {
  let service: TestService;
  let api: ApiClient;

  beforeAll(async () => {
    service = await startTestService({ MIN_POSITION_WAIT_MS: '300' });
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  describe('GET /api/users/<id>', () => {
    it('shows the user with connections and its revision as a weak ETag', async () => {
      const created = await registerViaProvider(api, 'github', 77, {
        displayName: 'Ann',
        email: 'Ann@Example.com',
        emailVerified: true,
      });
      const reply = await api.get(
        `/api/users/${created.userId}?minPosition=${created.position}`,
      );
      expect(reply.status).toBe(200);
      expect(reply.headers.get('etag')).toBe('W/"1"');
      expect(reply.body).toEqual({
        userId: created.userId,
        status: 'active',
        displayName: 'Ann',
        email: 'Ann@Example.com',
        emailVerified: true,
        hasPassword: false,
        username: null,
        connections: [
          {
            provider: 'github',
            subject: '77',
            linkedAt: expect.any(String),
            email: 'Ann@Example.com',
          },
        ],
        revision: 1,
      });
    });

    it('answers 404 user-not-found and 422 for an id that is not a UUID', async () => {
      const missing = await api.get('/api/users/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('user-not-found');
      const invalid = await api.get('/api/users/not-a-uuid');
      expect(invalid.status).toBe(422);
    });

    it('shows a merged user with a pointer and an erased one with id and status only', async () => {
      const survivor = await registerViaProvider(api, 'google', 'g-m1');
      const merged = await registerViaProvider(api, 'github', 'm1', {
        displayName: 'Old',
      });
      const merge = await api.command('merge-users', {
        survivorId: survivor.userId,
        mergedId: merged.userId,
      });
      const mergedView = await api.get(
        `/api/users/${merged.userId}?minPosition=${merge.body.position}`,
      );
      expect(mergedView.body).toMatchObject({
        status: 'merged',
        mergedInto: survivor.userId,
        connections: [],
      });
      const erase = await api.command('erase-user', { userId: survivor.userId });
      const erased = await api.get(
        `/api/users/${survivor.userId}?minPosition=${erase.body.position}`,
      );
      expect(erased.body).toEqual({ userId: survivor.userId, status: 'erased' });
    });

    it('refuses at once a minPosition beyond the end of the log', async () => {
      const created = await registerViaProvider(api, 'github', 'lag');
      const beyond = BigInt(created.position) * 2n + 1000n;
      const reply = await api.get(`/api/users/${created.userId}?minPosition=${beyond}`);
      expect(reply.status).toBe(422);
      expect(JSON.stringify(reply.body)).toContain('beyond the end of the log');
      const bad = await api.get(`/api/users/${created.userId}?minPosition=-1`);
      expect(bad.status).toBe(422);
    });
  });

  describe('GET /api/users?email=', () => {
    it('finds active users by email in any letter case', async () => {
      const created = await registerViaProvider(api, 'github', 'e1', {
        email: 'Mixed.Case@Example.org',
        emailVerified: true,
      });
      const reply = await api.get<{ users: { userId: string }[] }>(
        `/api/users?email=${encodeURIComponent('mixed.case@EXAMPLE.org')}&minPosition=${created.position}`,
      );
      expect(reply.body.users.map((u) => u.userId)).toEqual([created.userId]);
    });

    it('finds internationalised addresses and needs a valid email', async () => {
      const created = await registerViaProvider(api, 'github', 'e2', {
        email: 'Jürgen@Bücher.de',
      });
      const reply = await api.get<{ users: { userId: string }[] }>(
        `/api/users?email=${encodeURIComponent('jürgen@bücher.de')}&minPosition=${created.position}`,
      );
      expect(reply.body.users.map((u) => u.userId)).toEqual([created.userId]);
      expect((await api.get('/api/users?email=nope')).status).toBe(422);
      expect((await api.get('/api/users')).status).toBe(422);
    });
  });

  describe('GET /api/identities', () => {
    it('shows who holds an identity, by path and by query', async () => {
      const created = await registerViaProvider(api, 'github', 'i1');
      const byPath = await api.get(
        `/api/identities/github/i1?minPosition=${created.position}`,
      );
      expect(byPath.body).toEqual({
        provider: 'github',
        subject: 'i1',
        status: 'linked',
        userId: created.userId,
        since: expect.any(String),
      });
      const byQuery = await api.get('/api/identities?provider=github&subject=i1');
      expect(byQuery.body).toEqual(byPath.body);
    });

    it('carries subjects a path cannot, such as ".." and "a/b"', async () => {
      const dots = await registerViaProvider(api, 'github', '..');
      const slash = await registerViaProvider(api, 'github', 'a/b');
      const wait = `&minPosition=${slash.position}`;
      const one = await api.get(`/api/identities?provider=github&subject=..${wait}`);
      expect(one.body.userId).toBe(dots.userId);
      const two = await api.get(`/api/identities/github/${encodeURIComponent('a/b')}`);
      expect(two.body.userId).toBe(slash.userId);
    });

    it('shows a released identity, and answers 404 for one never seen', async () => {
      const user = await registerViaProvider(api, 'github', 'r1');
      await api.command('link-provider', {
        userId: user.userId,
        provider: 'google',
        subject: 'r1',
      });
      const unlink = await api.command('unlink-provider', {
        userId: user.userId,
        provider: 'github',
        subject: 'r1',
      });
      const released = await api.get(
        `/api/identities/github/r1?minPosition=${unlink.body.position}`,
      );
      expect(released.body).toMatchObject({ status: 'released', userId: null });
      const unknown = await api.get('/api/identities/github/never-seen');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('identity-not-found');
    });
  });

  it('needs the queries scope', async () => {
    const reply = await api.get('/api/identities/github/i1', { token: AUDITOR });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('forbidden');
  });
});

describe('a read model that has not caught up', () => {
  it('answers 503 projection-lagging when minPosition is not reached in time', async () => {
    // The log as the read model sees it: new events held back while `stalled`.
    let stalled = false;
    const service = await startTestService(
      { MIN_POSITION_WAIT_MS: '300' },
      {
        eventStore: (config) => {
          const store = openSqliteEventStore({
            file: join(config.dataDir, 'events.sqlite'),
          });
          return {
            ...store,
            subscribe: (options) =>
              (async function* () {
                for await (const event of store.subscribe(options)) {
                  while (stalled) await new Promise((resolve) => setTimeout(resolve, 20));
                  yield event;
                }
              })(),
          };
        },
      },
    );
    try {
      const api = apiClient(service.url);
      stalled = true;
      const created = await registerViaProvider(api, 'github', 'stalled');
      const reply = await api.get(
        `/api/users/${created.userId}?minPosition=${created.position}`,
      );
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('projection-lagging');
      stalled = false;
      const later = await api.get(
        `/api/users/${created.userId}?minPosition=${created.position}`,
      );
      expect(later.status).toBe(200);
    } finally {
      stalled = false;
      await service.stop();
      removeDataDir(service);
    }
  });
});
