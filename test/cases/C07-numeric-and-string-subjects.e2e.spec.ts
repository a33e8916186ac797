import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

/** C07: the provider sends the id as the number 1234 once and the string "1234" once. */
describe('C07: numeric and string subjects are the same identity', () => {
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

  it('the second sign-in reaches the same user', async () => {
    const first = await api.command('register-via-provider', {
      provider: 'github',
      subject: 1234,
    });
    expect(first.status).toBe(201);
    const second = await api.command('register-via-provider', {
      provider: 'github',
      subject: '1234',
    });
    expect(second.status).toBe(409);
    expect(second.body.userId).toBe(first.body.userId);
    const lookup = await api.get(
      `/api/identities/github/1234?minPosition=${first.body.position}`,
    );
    expect(lookup.body).toMatchObject({ subject: '1234', userId: first.body.userId });
  });

  it('the other way round too: the string first, then the number', async () => {
    const first = await api.command('register-via-provider', {
      provider: 'github',
      subject: '4321',
    });
    const second = await api.command('register-via-provider', {
      provider: 'github',
      subject: 4321,
    });
    expect(second.status).toBe(409);
    expect(second.body.userId).toBe(first.body.userId);
  });

  it('refuses numbers that would lose precision', async () => {
    const reply = await api.command('register-via-provider', undefined, {
      raw: '{"provider":"github","subject":12345678901234567890}',
    });
    expect(reply.status).toBe(422);
  });
});
