import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { join } from 'node:path';
import { apiClient } from '../support/client.js';
import { crashBefore } from '../support/faults.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

/**
 * C03: github:90 signs in for the first time; the process dies after the identity is
 * claimed and before the user is written. After a restart, github:90 works: one user,
 * linked, no 409 loop, no lockout.
 */
describe('C03: a crash between the identity claim and the user write', () => {
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const crashingService = (env: Record<string, string> = {}) =>
    startTestService(env, {
      eventStore: (config) =>
        crashBefore(
          openSqliteEventStore({ file: join(config.dataDir, 'events.sqlite') }),
          (stream) => stream.startsWith('user-'),
        ),
    });

  const register = {
    provider: 'github',
    subject: 90,
    profile: { displayName: 'Ninety' },
  };

  it('the retried request (same Idempotency-Key) finishes the registration', async () => {
    service = await crashingService();
    const headers = { 'idempotency-key': 'signup-90' };
    const crashed = await apiClient(service.url, service.services.store).command(
      'register-via-provider',
      register,
      {
        headers,
      },
    );
    expect(crashed.status).toBe(500);

    service = await service.restart({
      eventStore: openSqliteEventStore({ file: join(service.dataDir, 'events.sqlite') }),
    });
    const api = apiClient(service.url, service.services.store);
    const retried = await api.command('register-via-provider', register, { headers });
    expect(retried.status).toBe(201);
    const identity = await api.get(
      `/api/identities/github/90?minPosition=${retried.body.position}`,
    );
    expect(identity.body).toMatchObject({
      status: 'linked',
      userId: retried.body.userId,
    });
    const user = await api.get(`/api/users/${retried.body.userId}`);
    expect(user.body).toMatchObject({ status: 'active', displayName: 'Ninety' });
    expect((user.body.connections as unknown[]).length).toBe(1);
  });

  it('the reconciler at restart undoes the half-done work, and the next attempt makes one user', async () => {
    service = await crashingService({ REPAIR_GRACE_SECONDS: '0' });
    await apiClient(service.url, service.services.store).command(
      'register-via-provider',
      register,
    );

    service = await service.restart({
      eventStore: openSqliteEventStore({ file: join(service.dataDir, 'events.sqlite') }),
    });
    // Before anything else touches it, the reconciler at start has undone the claim.
    const log = await service.services.store.readAll({ after: null, limit: 100 });
    expect(log.map((e) => [e.type, e.metadata.flow])).toEqual([
      ['IdentityClaimed', 'api'],
      ['ClaimAbandoned', 'repair'],
      ['IdentityReleased', 'repair'],
    ]);
    const api = apiClient(service.url, service.services.store);
    const next = await api.command('register-via-provider', register);
    expect(next.status).toBe(201);
    const again = await api.command('register-via-provider', register);
    expect(again.status).toBe(409);
    expect(again.body.userId).toBe(next.body.userId);
  });
});
