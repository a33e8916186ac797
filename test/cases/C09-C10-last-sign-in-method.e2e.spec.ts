import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInWithPassword } from '../../src/application/passwordSignIn.js';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

describe('the last sign-in method', () => {
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

  it('C09: a user with github:92 and no password cannot unlink it', async () => {
    const user = await registerViaProvider(api, 'github', 92);
    const head = await service.services.store.headPosition();
    const reply = await api.command('unlink-provider', {
      userId: user.userId,
      provider: 'github',
      subject: '92',
    });
    expect(reply.status).toBe(409);
    expect(reply.body.code).toBe('last-sign-in-method');
    expect(await service.services.store.headPosition()).toBe(head);
    const after = await api.get(`/api/users/${user.userId}`);
    expect(after.body.connections).toMatchObject([{ provider: 'github', subject: '92' }]);
  });

  it('C10: a user with github:93 and a password may unlink it and signs in with the password', async () => {
    const created = await api.command('register-local-user', {
      username: 'user93',
      password: 'correct horse battery',
    });
    const userId = created.body.userId;
    await api.command('link-provider', { userId, provider: 'github', subject: 93 });
    const reply = await api.command('unlink-provider', {
      userId,
      provider: 'github',
      subject: '93',
    });
    expect(reply.status).toBe(200);
    expect(reply.body.events).toEqual(['ProviderUnlinked', 'IdentityReleased']);
    await expect(
      signInWithPassword(service.services, 'user93', 'correct horse battery'),
    ).resolves.toEqual({ ok: true, userId });
    await expect(
      signInWithPassword(service.services, 'user93', 'wrong horse battery'),
    ).resolves.toEqual({ ok: false, reason: 'wrong-password' });
  });
});
