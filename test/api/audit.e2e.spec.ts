import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  READER,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

interface AuditEvent {
  stream: string;
  revision: number;
  position: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

describe('audit', () => {
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

  describe('GET /api/audit/users/<id>/events', () => {
    it("lists the user's and its identities' events in log order, with metadata", async () => {
      const created = await api.command(
        'register-local-user',
        { username: 'audited', password: 'correct horse battery' },
        { headers: { 'x-correlation-id': 'signup-42', 'x-request-id': 'req-1' } },
      );
      const userId = created.body.userId;
      await api.command('link-provider', { userId, provider: 'github', subject: 'au1' });
      await api.command('unlink-provider', {
        userId,
        provider: 'github',
        subject: 'au1',
      });
      // Another user later takes the identity: not part of this user's history.
      await registerViaProvider(api, 'github', 'au1');

      const reply = await api.get<{ events: AuditEvent[] }>(
        `/api/audit/users/${userId}/events`,
        { token: AUDITOR },
      );
      expect(reply.status).toBe(200);
      const { events } = reply.body;
      expect(events.map((e) => e.type)).toEqual([
        'UsernameClaimed',
        'UserRegistered',
        'PasswordSet',
        'IdentityClaimed',
        'ProviderLinked',
        'ProviderUnlinked',
        'IdentityReleased',
      ]);
      const positions = events.map((e) => BigInt(e.position));
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
      expect(events[0]!.metadata).toEqual({
        actor: 'tester',
        flow: 'api',
        correlationId: 'signup-42',
        causationId: expect.any(String),
        requestId: 'req-1',
        time: expect.any(String),
        schemaVersion: 1,
      });
      expect(events.find((e) => e.type === 'PasswordSet')!.data).toEqual({
        passwordHash: '[redacted]',
      });
      expect(JSON.stringify(reply.body)).not.toContain('scrypt');
    });

    it('answers 404 for a user that never existed and 403 without the audit scope', async () => {
      const missing = await api.get(
        '/api/audit/users/00000000-0000-4000-8000-000000000000/events',
        { token: AUDITOR },
      );
      expect(missing.status).toBe(404);
      const user = await registerViaProvider(api, 'github', 'au2');
      const forbidden = await api.get(`/api/audit/users/${user.userId}/events`, {
        token: READER,
      });
      expect(forbidden.status).toBe(403);
    });
  });

  describe('GET /api/audit/users/<id>/state?at=', () => {
    it('shows the user as it was at each instant', async () => {
      const created = await registerViaProvider(api, 'github', 'st1', {
        displayName: 'Then',
      });
      const { userId } = created;
      const events = async () =>
        (
          await api.get<{ events: AuditEvent[] }>(`/api/audit/users/${userId}/events`, {
            token: AUDITOR,
          })
        ).body.events;
      const beforeLink = (await events()).at(-1)!.metadata.time as string;
      await new Promise((resolve) => setTimeout(resolve, 5));
      await api.command('link-provider', { userId, provider: 'google', subject: 'st1' });

      const then = await api.get(
        `/api/audit/users/${userId}/state?at=${encodeURIComponent(beforeLink)}`,
        { token: AUDITOR },
      );
      expect(then.status).toBe(200);
      expect((then.body.connections as unknown[]).length).toBe(1);
      const now = await api.get(
        `/api/audit/users/${userId}/state?at=${encodeURIComponent(new Date().toISOString())}`,
        { token: AUDITOR },
      );
      expect((now.body.connections as unknown[]).length).toBe(2);

      const before = await api.get(
        `/api/audit/users/${userId}/state?at=2000-01-01T00:00:00Z`,
        { token: AUDITOR },
      );
      expect(before.status).toBe(404);
      expect(before.body.code).toBe('user-not-found');
      const invalid = await api.get(`/api/audit/users/${userId}/state?at=yesterday`, {
        token: AUDITOR,
      });
      expect(invalid.status).toBe(422);
    });
  });

  describe('identity history, verify and export (operators)', () => {
    it('tells who held an identity, from when to when, by path or query', async () => {
      const first = await registerViaProvider(api, 'github', 'ih-1');
      await api.command('link-provider', {
        userId: first.userId,
        provider: 'google',
        subject: 'ih-g',
      });
      await api.command('unlink-provider', {
        userId: first.userId,
        provider: 'github',
        subject: 'ih-1',
      });
      const second = await registerViaProvider(api, 'github', 'ih-1');

      const byPath = await api.get<{ holders: Record<string, unknown>[] }>(
        '/api/audit/identities/github/ih-1',
        { token: AUDITOR },
      );
      expect(byPath.status).toBe(200);
      expect(byPath.body).toMatchObject({ provider: 'github', subject: 'ih-1' });
      const [then, now] = byPath.body.holders;
      expect(then).toMatchObject({
        userId: first.userId,
        purpose: 'register',
        ended: 'unlinked',
      });
      expect(now).toMatchObject({ userId: second.userId, to: null, ended: null });
      expect(Date.parse(then!.to as string)).toBeLessThanOrEqual(
        Date.parse(now!.from as string),
      );
      const byQuery = await api.get(
        '/api/audit/identities?provider=github&subject=ih-1',
        {
          token: AUDITOR,
        },
      );
      expect(byQuery.body).toEqual(byPath.body);

      expect(
        (await api.get('/api/audit/identities/github/never-seen', { token: AUDITOR }))
          .status,
      ).toBe(404);
      expect(
        (await api.get('/api/audit/identities/myspace/1', { token: AUDITOR })).status,
      ).toBe(422);
      expect(
        (await api.get('/api/audit/identities/github/ih-1', { token: READER })).status,
      ).toBe(403);
    });

    it('verifies the whole log for operators, and only for them', async () => {
      const report = await api.get('/api/audit/verify', { token: AUDITOR });
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({ ok: true, violations: [] });
      expect(report.body.events as number).toBeGreaterThan(10);
      expect((await api.get('/api/audit/verify', { token: READER })).status).toBe(403);
    });

    it('exports the log as JSON lines, from a position on, without secrets', async () => {
      await api.command('register-local-user', {
        username: 'exported',
        password: 'correct horse battery',
      });
      const fetchExport = async (query = '') => {
        const res = await fetch(`${service.url}/api/audit/export${query}`, {
          headers: { authorization: `Bearer ${AUDITOR}` },
        });
        return { res, lines: (await res.text()).trim().split('\n') };
      };
      const all = await fetchExport();
      expect(all.res.status).toBe(200);
      expect(all.res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const events = all.lines.map((line) => JSON.parse(line) as AuditEvent);
      const head = await service.services.store.headPosition();
      expect(events.at(-1)!.position).toBe(String(head));
      expect(events.map((e) => BigInt(e.position))).toEqual(
        [...events.map((e) => BigInt(e.position))].sort((a, b) => (a < b ? -1 : 1)),
      );
      expect(all.lines.join('\n')).not.toContain('scrypt');
      expect(events.find((e) => e.type === 'PasswordSet')!.data).toEqual({
        passwordHash: '[redacted]',
      });

      const middle = events[Math.floor(events.length / 2)]!.position;
      const since = await fetchExport(`?since=${middle}`);
      expect(since.lines.map((l) => (JSON.parse(l) as AuditEvent).position)).toEqual(
        events.filter((e) => BigInt(e.position) > BigInt(middle)).map((e) => e.position),
      );
      expect((await fetchExport('?since=soon')).res.status).toBe(422);
    });
  });
});
