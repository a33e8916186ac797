import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../../src/http/schemas.js';
import { apiClient, type ApiClient } from '../support/client.js';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { startService } from '../../src/service.js';
import {
  removeDataDir,
  startTestService,
  testConfig,
  testLogger,
  waitUntilReady,
  type TestService,
} from '../support/service.js';

describe('operations routes', () => {
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

  it('answers /healthz and /readyz without credentials', async () => {
    expect(await api.get('/healthz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await api.get('/readyz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('serves Prometheus metrics, counting commands', async () => {
    await api.command('register-via-provider', { provider: 'github', subject: 'm1' });
    const res = await fetch(`${service.url}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(text).toMatch(
      /account_links_commands_total\{command="register-via-provider",outcome="ok"\} 1/,
    );
  });

  it('describes every route in /openapi.json', async () => {
    const reply = await api.get<{ openapi: string; paths: Record<string, unknown> }>(
      '/openapi.json',
      { token: null },
    );
    expect(reply.body.openapi).toBe('3.1.0');
    const paths = Object.keys(reply.body.paths);
    for (const name of COMMAND_NAMES) expect(paths).toContain(`/api/commands/${name}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/users/{userId}',
        '/api/users',
        '/api/identities/{provider}/{subject}',
        '/api/identities',
        '/api/audit/users/{userId}/events',
        '/api/audit/users/{userId}/state',
        '/api/audit/identities/{provider}/{subject}',
        '/api/audit/identities',
        '/api/audit/verify',
        '/api/audit/export',
      ]),
    );
    // Unknown fields are refused, and the document says so.
    const link = JSON.stringify(reply.body.paths['/api/commands/link-provider']);
    expect(link).toContain('LinkProvider');
    expect(JSON.stringify(reply.body)).toContain('"additionalProperties":false');
  });

  it('echoes request and correlation ids, making them when absent', async () => {
    const given = await fetch(`${service.url}/healthz`, {
      headers: { 'x-request-id': 'abc-123', 'x-correlation-id': 'flow-9' },
    });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    expect(given.headers.get('x-correlation-id')).toBe('flow-9');
    const made = await fetch(`${service.url}/healthz`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown paths with a not-found problem, and wrong methods with 405', async () => {
    const missing = await api.get('/nothing/here', { token: null });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not-found');
    const wrong = await api.call('DELETE', '/healthz', undefined, { token: null });
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('method-not-allowed');
  });

  it('sends security headers and no framework banner', async () => {
    const res = await fetch(`${service.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers the API 503 unavailable while it replays the log, and serves it once ready', async () => {
    // A log with a user in it, whose replay into the read model is then held back.
    const config = testConfig();
    const first = await startService(config, { logger: testLogger() });
    await waitUntilReady(first.url);
    const ann = await apiClient(first.url).command('register-via-provider', {
      provider: 'github',
      subject: 'ann',
    });
    await first.stop();
    const raw = openSqliteEventStore({ file: join(config.dataDir, 'events.sqlite') });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const starting = await startService(config, {
      logger: testLogger(),
      eventStore: {
        ...raw,
        // The read model follows the log sealed (the email index, read opened, is not held).
        readAll: async (options) => {
          if (options.sealed) await held;
          return raw.readAll(options);
        },
      },
    });
    try {
      const early = apiClient(starting.url);
      // Not "no such user": the user exists, the model does not know it yet.
      const user = await early.get(`/api/users/${ann.body.userId as string}`);
      expect(user).toMatchObject({ status: 503, body: { code: 'unavailable' } });
      expect(user.headers.get('retry-after')).toBe('1');
      const command = await early.command('register-via-provider', {
        provider: 'github',
        subject: 'too-early',
      });
      expect(command).toMatchObject({ status: 503, body: { code: 'unavailable' } });

      release();
      await waitUntilReady(starting.url);
      const later = await early.command('register-via-provider', {
        provider: 'github',
        subject: 'too-early',
      });
      expect(later.status).toBe(201);
      expect((await early.get(`/api/users/${ann.body.userId as string}`)).status).toBe(
        200,
      );
    } finally {
      release();
      await starting.stop();
      removeDataDir(starting);
    }
  });
});
