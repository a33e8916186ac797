import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { apiClient } from '../support/client.js';
import {
  READER,
  TOKEN,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

/** An event store whose appends take `delayMs` longer: a slow disk or a far server. */
const slowAppends =
  (delayMs: number) =>
  (store: EventStore): EventStore => ({
    ...store,
    append: async (stream, events, expected) => {
      await sleep(delayMs);
      return store.append(stream, events, expected);
    },
  });

/** A command whose body is declared `length` bytes long, of which only `sent` is sent. */
const startUpload = (url: string, length: number, sent: string) => {
  const upload = request(new URL(`${url}/api/commands/register-via-provider`), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      'content-length': String(length),
    },
  });
  upload.write(sent);
  return upload;
};

const defaultStore = (config: Config): EventStore =>
  openSqliteEventStore({ file: join(config.dataDir, 'events.sqlite') });

const register = (subject: string) => ({
  provider: 'github',
  subject,
  profile: { displayName: null },
});

describe('limits', () => {
  let service: TestService | null = null;
  afterEach(async () => {
    if (!service) return;
    await service.stop();
    removeDataDir(service.config);
    service = null;
  });

  const expectProblem = (
    reply: { status: number; headers: Headers; body: Record<string, unknown> },
    status: number,
    code: string,
  ) => {
    expect(reply.status).toBe(status);
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
    expect(reply.body).toMatchObject({ status, code });
  };

  it('limits API requests per caller and answers 429 with the limit in the headers', async () => {
    service = await startTestService({ API_RATE_LIMIT_PER_MINUTE: '5' });
    const api = apiClient(service.url);
    for (let i = 0; i < 5; i += 1) {
      expect((await api.get('/api/identities/github/nobody')).status).toBe(404);
    }
    const refused = await api.get('/api/identities/github/nobody');
    expectProblem(refused, 429, 'rate-limited');
    expect(refused.headers.get('ratelimit-policy')).toContain('5');
    expectProblem(
      await api.command('register-via-provider', register('1')),
      429,
      'rate-limited',
    );

    // Another caller has a budget of its own, and the service stays responsive.
    const other = await api.get('/api/identities/github/nobody', { token: READER });
    expect(other.status).toBe(404);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    // The refused command changed nothing.
    const stillNobody = await api.get('/api/identities/github/1', { token: READER });
    expect(stillNobody.status).toBe(404);
  });

  it('refuses a body over 1 MB with 413 and keeps serving', async () => {
    service = await startTestService();
    const api = apiClient(service.url);
    const huge = JSON.stringify({ ...register('1'), padding: 'x'.repeat(1_100_000) });
    expectProblem(
      await api.command('register-via-provider', undefined, { raw: huge }),
      413,
      'payload-too-large',
    );
    expect((await api.command('register-via-provider', register('2'))).status).toBe(201);
  });

  it('refuses a body declared over 1 MB before it arrives, so sending none holds no command slot', async () => {
    service = await startTestService({ MAX_IN_FLIGHT_COMMANDS: '2' });
    // More requests than slots, each declaring a huge body, sending two bytes and waiting.
    const stalled = Array.from({ length: 4 }, () => {
      const sent = startUpload(service!.url, 999_999_999, '{}');
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        sent.on('error', reject);
        sent.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            sent.destroy();
            resolve({ status: res.statusCode!, body });
          });
        });
      });
    });
    for (const answer of await Promise.all(stalled)) {
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'payload-too-large' });
    }
    const api = apiClient(service.url);
    expect((await api.command('register-via-provider', register('3'))).status).toBe(201);
  });

  it('gives a command slot only once the body has arrived: bodies sent slowly, or never, hold none', async () => {
    service = await startTestService({ MAX_IN_FLIGHT_COMMANDS: '2' });
    const stalled = Array.from({ length: 4 }, () => {
      const sent = startUpload(service!.url, 1000, '{');
      sent.on('error', () => {});
      return sent;
    });
    try {
      // Time for the service to take them in (their headers, their first byte).
      await sleep(300);
      const api = apiClient(service.url);
      for (const subject of ['slow-1', 'slow-2', 'slow-3']) {
        expect(
          (await api.command('register-via-provider', register(subject))).status,
        ).toBe(201);
      }
    } finally {
      for (const sent of stalled) sent.destroy();
    }
  });

  it('handles a bounded number of commands at once and refuses the rest with 429 and Retry-After', async () => {
    service = await startTestService(
      { MAX_IN_FLIGHT_COMMANDS: '2' },
      { eventStore: (config) => slowAppends(300)(defaultStore(config)) },
    );
    const api = apiClient(service.url, service.services.store);
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.command('register-via-provider', register(`s${i}`)),
      ),
    );
    const accepted = replies.filter((reply) => reply.status === 201);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(accepted.length + refused.length).toBe(6);
    for (const reply of refused) {
      expectProblem(reply, 429, 'rate-limited');
      expect(reply.headers.get('retry-after')).toBe('1');
    }
    // Queries are not commands: answered while commands are busy.
    expect((await api.get('/api/identities/github/none')).status).toBe(404);
    // Only the accepted ones are in the log; a refused one can be sent again.
    const holders = await Promise.all(
      replies.map((_, i) => api.get(`/api/identities/github/s${i}`)),
    );
    expect(holders.filter((reply) => reply.status === 200)).toHaveLength(accepted.length);
    const again = replies.findIndex((reply) => reply.status === 429);
    expect(
      (await api.command('register-via-provider', register(`s${again}`))).status,
    ).toBe(201);
  });

  it('answers 503 when a command takes longer than the request timeout; its retry gets the outcome', async () => {
    service = await startTestService(
      { REQUEST_TIMEOUT_SECONDS: '1' },
      { eventStore: (config) => slowAppends(700)(defaultStore(config)) },
    );
    const api = apiClient(service.url);
    const key = { 'idempotency-key': 'timeout-once-0001' };
    const first = await api.command('register-via-provider', register('slow'), {
      headers: key,
    });
    expectProblem(first, 503, 'unavailable');
    // The work finishes behind the answer; the retry with the same key gets its result.
    await sleep(1200);
    const retry = await api.command('register-via-provider', register('slow'), {
      headers: key,
    });
    expect(retry.status).toBe(201);
  });
});
