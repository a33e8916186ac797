import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

describe('odd and hostile input', () => {
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
  const head = async () => service.services.store.headPosition();

  it('refuses subjects with lone surrogates, which would make distinct ids look equal', async () => {
    const before = await head();
    for (const raw of ['"x\\udc00y"', '"x\\ud800y"', '"\\ud83d"']) {
      const reply = await api.command('register-via-provider', undefined, {
        raw: `{"provider":"github","subject":${raw}}`,
      });
      expect(reply.status).toBe(422);
    }
    expect(await head()).toBe(before);
    // The replacement character itself is an ordinary character.
    const replacement = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'a\ufffdb',
    });
    expect(replacement.status).toBe(201);
  });

  it('counts lengths in characters, not UTF-16 units', async () => {
    // 256 emoji are 512 UTF-16 units, and 256 characters: allowed.
    const most = await api.command('register-via-provider', {
      provider: 'github',
      subject: '😀'.repeat(256),
    });
    expect(most.status).toBe(201);
    const tooLong = await api.command('register-via-provider', {
      provider: 'github',
      subject: '😀'.repeat(257),
    });
    expect(tooLong.status).toBe(422);
  });

  it('answers a path that is not valid percent-encoding with 422, naming the URL', async () => {
    const reply = await api.get('/api/identities/github/%ZZ');
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({
      code: 'validation-failed',
      errors: [{ path: 'url' }],
    });
    const surrogate = await api.get('/api/identities/github/a%ED%A0%80b');
    expect(surrogate.status).toBe(422);
  });

  it('names the path parameter that is wrong', async () => {
    const reply = await api.get('/api/users/not-a-uuid');
    expect(reply.body.errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
    const audit = await api.get('/api/audit/users/not-a-uuid/events', { token: AUDITOR });
    expect(audit.body.errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
  });

  it('reads any JSON value: null and a string are refused by validation, not as malformed', async () => {
    for (const raw of ['null', '"x"', '42', '[]']) {
      const reply = await api.command('register-via-provider', undefined, { raw });
      expect(reply.status, raw).toBe(422);
      expect(reply.body.code).toBe('validation-failed');
    }
  });

  it('reads vendor JSON types', async () => {
    const reply = await api.command(
      'register-via-provider',
      { provider: 'github', subject: 'vendor-json' },
      { headers: { 'content-type': 'application/vnd.example+json' } },
    );
    expect(reply.status).toBe(201);
  });

  it('refuses a body nested 400,000 levels deep, also with an Idempotency-Key (was a 500)', async () => {
    const before = await head();
    const deep = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    for (const headers of [{}, { 'idempotency-key': 'deep-1' }] as Record<
      string,
      string
    >[]) {
      const reply = await api.command('register-via-provider', undefined, {
        raw: deep,
        headers,
      });
      expect(reply.status).toBe(422);
      expect(reply.body).toMatchObject({
        code: 'validation-failed',
        errors: [{ path: '(body)' }],
      });
    }
    expect(await head()).toBe(before);
  });

  it('refuses emails with control characters or lone surrogates (they were stored)', async () => {
    const before = await head();
    const odd = ['a\u0000b@example.com', '\u007f@example.com', 'a\ud800@example.com'];
    for (const email of [...odd, 'a\u202e@example.com']) {
      const reply = await api.command('register-via-provider', {
        provider: 'github',
        subject: 'odd-email',
        profile: { email },
      });
      expect(reply.status, JSON.stringify(email)).toBe(422);
      expect(reply.body.errors).toEqual([
        { path: 'profile.email', message: expect.any(String) },
      ]);
    }
    expect(await head()).toBe(before);
  });

  it('trims emails in queries as in commands', async () => {
    const created = await registerViaProvider(api, 'github', 'trim', {
      email: 'bob.smith@example.com',
    });
    const reply = await api.get<{ users: { userId: string }[] }>(
      `/api/users?email=${encodeURIComponent(' Bob.Smith@example.com ')}&minPosition=${created.position}`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.users.map((u) => u.userId)).toEqual([created.userId]);
  });

  it('refuses merging into an erased survivor, and a stale If-Match on an erased user', async () => {
    const survivor = await registerViaProvider(api, 'google', 'gone-1');
    const merged = await registerViaProvider(api, 'github', 'gone-2');
    await api.command('merge-users', {
      survivorId: survivor.userId,
      mergedId: merged.userId,
    });
    await api.command('erase-user', { userId: survivor.userId });
    const again = await api.command('merge-users', {
      survivorId: survivor.userId,
      mergedId: merged.userId,
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('user-erased');
    const stale = await api.command(
      'erase-user',
      { userId: survivor.userId },
      { headers: { 'if-match': '"0"' } },
    );
    expect(stale.status).toBe(412);
  });

  it('records the release of an unlink as part of the unlink, not as a repair', async () => {
    const user = await registerViaProvider(api, 'github', 'flow-1');
    await api.command('link-provider', {
      userId: user.userId,
      provider: 'google',
      subject: 'flow-1',
    });
    await api.command('unlink-provider', {
      userId: user.userId,
      provider: 'github',
      subject: 'flow-1',
    });
    const audit = await api.get<{
      events: { type: string; metadata: { flow: string } }[];
    }>(`/api/audit/users/${user.userId}/events`, { token: AUDITOR });
    const release = audit.body.events.find((e) => e.type === 'IdentityReleased')!;
    expect(release.metadata.flow).toBe('api');
  });

  it('refuses a body of thousands of unknown fields in a short answer, not the body back', async () => {
    const fields = Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => [`unknown_field_${i}`, i]),
    );
    const many = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'many-fields',
      ...fields,
    });
    expect(many.status).toBe(422);
    const text = JSON.stringify(many.body);
    expect(text.length).toBeLessThan(2000);
    expect(text).toContain('unknown_field_0');
    expect(text).not.toContain('unknown_field_4999');
  });

  it('trims emails of ASCII blanks only: an address padded with another space is no match', async () => {
    const plain = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'padded-1',
      profile: { email: 'pad@example.org', emailVerified: true },
    });
    expect(plain.status).toBe(201);
    for (const padded of ['pad@example.org\u3000', '\ufeffpad@example.org']) {
      const reply = await api.get(`/api/users?email=${encodeURIComponent(padded)}`);
      if (reply.status === 200) expect(reply.body.users).toEqual([]);
      else expect(reply.status).toBe(422);
    }
    const spaced = await api.get(
      `/api/users?email=${encodeURIComponent(' pad@example.org\t')}`,
    );
    expect((spaced.body.users as { userId: string }[]).map((u) => u.userId)).toEqual([
      plain.body.userId,
    ]);
  });

  it('names where a problem happened by its path only: no query, at most 200 characters', async () => {
    const email = `${'a'.repeat(12_000)}@`;
    const query = await api.get(`/api/users?email=${email}`);
    expect(query.status).toBe(422);
    expect(query.body.instance).toBe('/api/users');

    const long = await api.get(`/api/identities/github/${'s'.repeat(300)}`);
    expect(long.status).toBe(422);
    expect(String(long.body.instance)).toMatch(/^\/api\/identities\/github\/s+…$/);
    expect([...String(long.body.instance)]).toHaveLength(200);
  });
});
