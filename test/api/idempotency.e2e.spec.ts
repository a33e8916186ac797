import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/application/commands/index.js';
import { commandIdFor } from '../../src/http/commandRoutes.js';
import { apiClient, type ApiClient } from '../support/client.js';
import {
  AUDITOR,
  TOKEN,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

const logLength = async (service: TestService) =>
  Number((await service.services.store.headPosition()) ?? 0n);

describe('Idempotency-Key', () => {
  let service: TestService;
  let api: ApiClient;

  beforeEach(async () => {
    service = await startTestService({
      SERVICE_TOKENS: `tester=${TOKEN},other=${TOKEN}-other,auditor:audit=${AUDITOR}`,
    });
    api = apiClient(service.url);
  });
  afterEach(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const body = { provider: 'github', subject: '500', profile: { displayName: 'Ann' } };
  const withKey = (key: string) => ({ headers: { 'idempotency-key': key } });

  it('answers a repeat with the first answer and appends nothing', async () => {
    const first = await api.command('register-via-provider', body, withKey('k-1'));
    const length = await logLength(service);
    const again = await api.command(
      'register-via-provider',
      { profile: { displayName: 'Ann' }, subject: '500', provider: 'github' },
      withKey('k-1'),
    );
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await logLength(service)).toBe(length);
  });

  it('replays a refusal as it was first given', async () => {
    await api.command('register-via-provider', body);
    const first = await api.command('register-via-provider', body, withKey('k-2'));
    const again = await api.command('register-via-provider', body, withKey('k-2'));
    expect(first.status).toBe(409);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body).toEqual(first.body);
  });

  it('refuses the same key with another body', async () => {
    await api.command('register-via-provider', body, withKey('k-3'));
    const reply = await api.command(
      'register-via-provider',
      { ...body, subject: '501' },
      withKey('k-3'),
    );
    expect(reply.status).toBe(422);
    expect(reply.body.code).toBe('idempotency-key-reused');
  });

  it('refuses the same key on another command', async () => {
    await api.command('register-via-provider', body, withKey('k-4'));
    const reply = await api.command(
      'erase-user',
      { userId: crypto.randomUUID() },
      withKey('k-4'),
    );
    expect(reply.body.code).toBe('idempotency-key-reused');
  });

  it('keeps keys per caller', async () => {
    const mine = await api.command('register-via-provider', body, withKey('shared'));
    const theirs = await api.command(
      'register-via-provider',
      { ...body, subject: '502' },
      { ...withKey('shared'), token: `${TOKEN}-other` },
    );
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.userId).not.toBe(mine.body.userId);
  });

  it('refuses a key that is not 1 to 255 visible characters', async () => {
    const reply = await api.command(
      'register-via-provider',
      body,
      withKey('x'.repeat(256)),
    );
    expect(reply.status).toBe(422);
    expect(reply.body.code).toBe('validation-failed');
  });

  it('runs concurrent requests with one key once', async () => {
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        api.command('register-via-provider', body, withKey('k-5')),
      ),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(replies.map((r) => r.body.userId)).size).toBe(1);
    expect(await logLength(service)).toBe(3);
  });

  it('still answers the same after a restart', async () => {
    const first = await api.command('register-via-provider', body, withKey('k-6'));
    service = await service.restart();
    api = apiClient(service.url);
    const again = await api.command('register-via-provider', body, withKey('k-6'));
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(await logLength(service)).toBe(3);
  });

  it('answers the same when the command was appended but the answer never stored', async () => {
    // What a crash between the append and the answer leaves: the events, no record.
    const done = await runCommand(
      service.services,
      {
        actor: 'tester',
        flow: 'api',
        correlationId: 'c',
        requestId: null,
        commandId: commandIdFor('tester', 'k-7'),
        idempotent: true,
      },
      { name: 'register-via-provider', input: { ...body } },
    );
    const length = await logLength(service);
    const reply = await api.command('register-via-provider', body, withKey('k-7'));
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      userId: done.userId,
      revision: done.revision,
      position: done.position.toString(),
      events: done.events,
    });
    expect(await logLength(service)).toBe(length);
  });
});
