import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

describe('the command API', () => {
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

  it('C13: linking github:95 to B while A holds it is refused on the API path too', async () => {
    const a = await registerViaProvider(api, 'github', 95);
    const b = await registerViaProvider(api, 'google', 'b-95');
    const head = await service.services.store.headPosition();
    const reply = await api.command('link-provider', {
      userId: b.userId,
      provider: 'github',
      subject: '95',
    });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({
      code: 'identity-already-linked',
      userId: a.userId,
    });
    expect(await service.services.store.headPosition()).toBe(head);
    const holder = await api.get('/api/identities/github/95');
    expect(holder.body.userId).toBe(a.userId);
  });

  it('C17: linking to an existing user says "linked", never "user created"', async () => {
    const user = await registerViaProvider(api, 'google', 'g-17');
    const reply = await api.command('link-provider', {
      userId: user.userId,
      provider: 'github',
      subject: '17',
    });
    expect(reply.status).toBe(200);
    expect(reply.body.events).toEqual(['IdentityClaimed', 'ProviderLinked']);
    const audit = await api.get<{
      events: { type: string; data: Record<string, unknown> }[];
    }>(`/api/audit/users/${user.userId}/events`, { token: AUDITOR });
    expect(audit.body.events.filter((e) => e.type === 'UserRegistered')).toHaveLength(1);
    expect(
      audit.body.events.find(
        (e) => e.type === 'IdentityClaimed' && e.data.subject === '17',
      ),
    ).toMatchObject({ data: { purpose: 'link' } });
  });

  it('C18: the same register-via-provider twice with one Idempotency-Key makes one user', async () => {
    const body = {
      provider: 'github',
      subject: '18',
      profile: { displayName: 'Eighteen' },
    };
    const options = { headers: { 'idempotency-key': 'c18' } };
    const first = await api.command('register-via-provider', body, options);
    const second = await api.command('register-via-provider', body, options);
    expect(first.status).toBe(201);
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    service = await service.restart();
    api = apiClient(service.url, service.services.store);
    const afterRestart = await api.command('register-via-provider', body, options);
    expect(afterRestart.body).toEqual(first.body);
    const audit = await api.get<{ events: { type: string }[] }>(
      `/api/audit/users/${first.body.userId}/events`,
      { token: AUDITOR },
    );
    expect(audit.body.events.map((e) => e.type)).toEqual([
      'IdentityClaimed',
      'UserRegistered',
      'ProviderLinked',
    ]);
  });
});
