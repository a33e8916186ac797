import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  READER,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

const PROBLEM = 'application/problem+json';

const expectProblem = (
  reply: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
  code: string,
) => {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toContain(PROBLEM);
  expect(reply.body).toMatchObject({
    type: `https://account-links.dev/problems/${code}`,
    code,
    status,
  });
  expect(typeof reply.body.title).toBe('string');
  expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.(ts|js):\d+/);
};

describe('POST /api/commands/<name>', () => {
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

  describe('register-via-provider', () => {
    it('answers 201 with the user id, revision, position and event types', async () => {
      const reply = await api.command('register-via-provider', {
        provider: 'github',
        subject: 1001,
        profile: {
          displayName: 'Ann',
          email: 'ann1001@example.com',
          emailVerified: true,
        },
      });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        revision: 1,
        position: expect.stringMatching(/^\d+$/),
        events: ['IdentityClaimed', 'UserRegistered', 'ProviderLinked'],
      });
    });

    it('answers 409 identity-already-linked naming the holder', async () => {
      const holder = await registerViaProvider(api, 'github', 1002);
      const reply = await api.command('register-via-provider', {
        provider: 'github',
        subject: '1002',
      });
      expectProblem(reply, 409, 'identity-already-linked');
      expect(reply.body.userId).toBe(holder.userId);
    });

    it('answers 409 email-belongs-to-existing-user for a verified email in use', async () => {
      await registerViaProvider(api, 'github', 1003, {
        email: 'taken@example.com',
        emailVerified: true,
      });
      const reply = await api.command('register-via-provider', {
        provider: 'google',
        subject: 'g-1003',
        profile: { email: 'TAKEN@example.com', emailVerified: true },
      });
      expectProblem(reply, 409, 'email-belongs-to-existing-user');
    });

    it('refuses If-Match, which cannot apply to a new user', async () => {
      const reply = await api.command(
        'register-via-provider',
        { provider: 'github', subject: '1004' },
        { headers: { 'if-match': '"0"' } },
      );
      expectProblem(reply, 422, 'validation-failed');
      expect(reply.body.errors).toEqual([
        { path: 'If-Match', message: expect.any(String) },
      ]);
    });
  });

  describe('register-local-user', () => {
    it('answers 201, and 409 username-taken for the same name in another case', async () => {
      const reply = await api.command('register-local-user', {
        username: 'Grace',
        password: 'correct horse battery',
        email: 'grace@example.com',
      });
      expect(reply.status).toBe(201);
      expect(reply.body.events).toEqual([
        'UsernameClaimed',
        'UserRegistered',
        'PasswordSet',
      ]);
      const again = await api.command('register-local-user', {
        username: 'grace',
        password: 'another good password',
      });
      expectProblem(again, 409, 'username-taken');
    });

    it('never echoes the password, even when refusing it', async () => {
      const reply = await api.command('register-local-user', {
        username: 'shorty',
        password: 'pw12',
      });
      expectProblem(reply, 422, 'validation-failed');
      expect(JSON.stringify(reply.body)).not.toContain('pw12');
    });
  });

  describe('link-provider and unlink-provider', () => {
    it('link answers 200 with the link events, never "created"', async () => {
      const user = await registerViaProvider(api, 'google', 'g-2001');
      const reply = await api.command('link-provider', {
        userId: user.userId,
        provider: 'github',
        subject: '2001',
      });
      expect(reply.status).toBe(200);
      expect(reply.body.events).toEqual(['IdentityClaimed', 'ProviderLinked']);
    });

    it('answers each refusal with its code and status', async () => {
      const a = await registerViaProvider(api, 'github', 2002);
      const b = await registerViaProvider(api, 'google', 'g-2002');
      const link = (body: object, headers?: Record<string, string>) =>
        api.command('link-provider', body, { headers });

      expectProblem(
        await link({ userId: b.userId, provider: 'github', subject: '2002' }),
        409,
        'identity-already-linked',
      );
      expectProblem(
        await link({ userId: a.userId, provider: 'github', subject: '2003' }),
        409,
        'provider-already-linked',
      );
      expectProblem(
        await link({
          userId: '00000000-0000-4000-8000-000000000000',
          provider: 'github',
          subject: '2004',
        }),
        404,
        'user-not-found',
      );
      expectProblem(
        await link(
          { userId: b.userId, provider: 'github', subject: '2005' },
          { 'if-match': '"7"' },
        ),
        412,
        'revision-mismatch',
      );
      expectProblem(
        await link(
          { userId: b.userId, provider: 'github', subject: '2005' },
          { 'if-match': 'seven' },
        ),
        422,
        'validation-failed',
      );
      const ok = await link(
        { userId: b.userId, provider: 'github', subject: '2005' },
        { 'if-match': '"1"' },
      );
      expect(ok.status).toBe(200);

      expectProblem(
        await api.command('unlink-provider', {
          userId: a.userId,
          provider: 'github',
          subject: '2002',
        }),
        409,
        'last-sign-in-method',
      );
      expectProblem(
        await api.command('unlink-provider', {
          userId: a.userId,
          provider: 'google',
          subject: 'nope',
        }),
        409,
        'identity-not-linked',
      );
      const unlinked = await api.command('unlink-provider', {
        userId: b.userId,
        provider: 'github',
        subject: '2005',
      });
      expect(unlinked.status).toBe(200);
      expect(unlinked.body.events).toEqual(['ProviderUnlinked', 'IdentityReleased']);
    });
  });

  describe('merge-users and erase-user', () => {
    it('merges, then refuses commands on the merged user with user-merged', async () => {
      const survivor = await registerViaProvider(api, 'google', 'g-3001');
      const merged = await registerViaProvider(api, 'github', 3001);
      const reply = await api.command('merge-users', {
        survivorId: survivor.userId,
        mergedId: merged.userId,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.events).toEqual([
        'UserMergedInto',
        'IdentityClaimed',
        'UsersMerged',
      ]);
      const refused = await api.command('link-provider', {
        userId: merged.userId,
        provider: 'google',
        subject: 'g-3002',
      });
      expectProblem(refused, 409, 'user-merged');
      expect(refused.body.mergedInto).toBe(survivor.userId);
    });

    it('erases, then refuses commands on the erased user with user-erased', async () => {
      const user = await registerViaProvider(api, 'github', 3003);
      const reply = await api.command('erase-user', { userId: user.userId });
      expect(reply.status).toBe(200);
      expect(reply.body.events).toEqual(['UserErased', 'IdentityReleased']);
      expectProblem(
        await api.command('link-provider', {
          userId: user.userId,
          provider: 'google',
          subject: 'g-3003',
        }),
        409,
        'user-erased',
      );
    });

    it('refuses merging a user into itself', async () => {
      const user = await registerViaProvider(api, 'github', 3004);
      expectProblem(
        await api.command('merge-users', {
          survivorId: user.userId,
          mergedId: user.userId,
        }),
        422,
        'validation-failed',
      );
    });
  });

  describe('bad requests', () => {
    it('answers 400 malformed-json for a body that is not JSON', async () => {
      expectProblem(
        await api.command('register-via-provider', undefined, {
          raw: '{"provider": "github",',
        }),
        400,
        'malformed-json',
      );
    });

    it('answers 413 payload-too-large for a body over 1 MB', async () => {
      const reply = await api.command('register-via-provider', {
        provider: 'github',
        subject: '1',
        profile: { displayName: 'x'.repeat(1_100_000) },
      });
      expectProblem(reply, 413, 'payload-too-large');
    });

    it('answers 422 validation-failed listing unknown fields and bad values', async () => {
      const reply = await api.command('register-via-provider', {
        provider: 'myspace',
        subject: 'a'.repeat(300),
        admin: true,
      });
      expectProblem(reply, 422, 'validation-failed');
      const paths = (reply.body.errors as { path: string }[]).map((e) => e.path).sort();
      expect(paths).toEqual(['(body)', 'provider', 'subject']);
    });

    it('answers 422 for a subject with control characters or an invalid email', async () => {
      expectProblem(
        await api.command('register-via-provider', {
          provider: 'github',
          subject: 'a\u0000b',
        }),
        422,
        'validation-failed',
      );
      expectProblem(
        await api.command('register-via-provider', {
          provider: 'github',
          subject: 'x',
          profile: { email: 'not an email', emailVerified: true },
        }),
        422,
        'validation-failed',
      );
    });

    it('answers 415 for a body that is not declared as JSON', async () => {
      const reply = await api.command('register-via-provider', undefined, {
        raw: 'provider=github',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectProblem(reply, 415, 'unsupported-media-type');
    });

    it('answers 404 unknown-command and 405 method-not-allowed', async () => {
      expectProblem(await api.command('promote-to-admin', {}), 404, 'unknown-command');
      const reply = await api.get('/api/commands/link-provider');
      expectProblem(reply, 405, 'method-not-allowed');
      expect(reply.headers.get('allow')).toBe('POST');
    });
  });

  describe('callers', () => {
    it('answers 401 without a token and with a wrong one', async () => {
      const body = { provider: 'github', subject: '9001' };
      const missing = await api.command('register-via-provider', body, { token: null });
      expectProblem(missing, 401, 'unauthorized');
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expectProblem(
        await api.command('register-via-provider', body, { token: 'not-the-secret' }),
        401,
        'unauthorized',
      );
    });

    it('answers 403 to a token without the commands scope, changing nothing', async () => {
      const reply = await api.command(
        'register-via-provider',
        { provider: 'github', subject: '9002' },
        { token: READER },
      );
      expectProblem(reply, 403, 'forbidden');
      const lookup = await api.get('/api/identities/github/9002', { token: READER });
      expect(lookup.status).toBe(404);
    });
  });
});
