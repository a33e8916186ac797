import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

/** C08: two first sign-ins with github:91 arrive at the same time. */
describe('C08: concurrent first sign-ins with one identity', () => {
  let service: TestService;
  beforeAll(async () => (service = await startTestService()));
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  it('make exactly one user, and both requests end with that user', async () => {
    const api = apiClient(service.url, service.services.store);
    const replies = await Promise.all(
      [0, 1].map(() =>
        api.command('register-via-provider', { provider: 'github', subject: 91 }),
      ),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409]);
    const [created, refused] =
      replies[0]!.status === 201 ? replies : [replies[1]!, replies[0]!];
    expect(refused!.body.userId).toBe(created!.body.userId);
    const holder = await api.get(
      `/api/identities/github/91?minPosition=${created!.body.position}`,
    );
    expect(holder.body).toMatchObject({ userId: created!.body.userId });
    const log = await service.services.store.readAll({ after: null, limit: 100 });
    expect(log.filter((e) => e.type === 'UserRegistered')).toHaveLength(1);
  });
});
