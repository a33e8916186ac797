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
});
