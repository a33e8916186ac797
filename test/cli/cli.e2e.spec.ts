import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '../../src/domain/values.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import { USER, passwordSet, registered } from '../support/domain.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  tempDir,
  type TestService,
} from '../support/service.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `account-links <args>` as its own process, configured by the environment only. */
const cli = (args: string[], env: Record<string, string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    );
  });

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the account-links CLI, on the data of a running service', () => {
  let service: TestService;
  let api: ApiClient;
  let env: Record<string, string>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    service = await startTestService();
    api = apiClient(service.url, service.services.store);
    env = { DATA_DIR: service.dataDir };
    // Ann signs up with GitHub, links Google, unlinks GitHub; Bob takes GitHub up;
    // Cid is merged into Bob; Dee is erased.
    ids.ann = (await registerViaProvider(api, 'github', 'cli-1')).userId;
    await api.command('link-provider', {
      userId: ids.ann,
      provider: 'google',
      subject: 'cli-g1',
    });
    await api.command('unlink-provider', {
      userId: ids.ann,
      provider: 'github',
      subject: 'cli-1',
    });
    ids.bob = (await registerViaProvider(api, 'github', 'cli-1')).userId;
    ids.cid = (await registerViaProvider(api, 'google', 'cli-g2')).userId;
    await api.command('merge-users', { survivorId: ids.bob, mergedId: ids.cid });
    ids.dee = (
      await api.command('register-local-user', {
        username: 'dee-cli',
        password: 'correct horse battery',
        email: 'dee-cli@example.com',
      })
    ).body.userId;
    await api.command('erase-user', { userId: ids.dee });
  }, 60_000);
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  it('prints a user’s timeline with flow, actor, correlation and time; as JSON lines the same as the API', async () => {
    const text = await cli(['history', ids.ann!], env);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z\s+IdentityClaimed\s+api\s+by tester\s+corr \S+\s+identity-github-\S+#0$/,
    );
    expect(text.stdout).toContain('ProviderUnlinked');

    const json = await cli(['history', ids.ann!, '--json'], env);
    const fromApi = await api.get<{ events: { position: string; type: string }[] }>(
      `/api/audit/users/${ids.ann}/events`,
      { token: AUDITOR },
    );
    expect(jsonLines(json.stdout).map((e) => [e.position, e.type])).toEqual(
      fromApi.body.events.map((e) => [e.position, e.type]),
    );
  });

  it('prints the state at a time, as the API does', async () => {
    const events = jsonLines((await cli(['history', ids.ann!, '--json'], env)).stdout);
    const linked = events.find((e) => e.type === 'ProviderLinked' && e.revision !== 1)!;
    const at = (linked.metadata as { time: string }).time;
    const state = await cli(['history', ids.ann!, '--at', at, '--json'], env);
    expect(state.code).toBe(0);
    const fromApi = await api.get(
      `/api/audit/users/${ids.ann}/state?at=${encodeURIComponent(at)}`,
      { token: AUDITOR },
    );
    expect(JSON.parse(state.stdout)).toEqual(fromApi.body);
  });

  it('tells who held an identity, from when to when', async () => {
    const text = await cli(['identity', 'github', 'cli-1'], env);
    expect(text.code).toBe(0);
    const [first, second] = text.stdout.trim().split('\n');
    expect(first).toContain(ids.ann);
    expect(first).toContain('ended: unlinked');
    expect(second).toContain(ids.bob);
    expect(second).toMatch(/\.\. now/);
    const json = JSON.parse(
      (await cli(['identity', 'google', 'cli-g2', '--json'], env)).stdout,
    );
    expect(json.holders).toMatchObject([
      { userId: ids.cid, ended: 'merged' },
      { userId: ids.bob, previousUserId: ids.cid, purpose: 'merge', to: null },
    ]);
  });

  it('verifies the log: a summary and exit 0', async () => {
    const text = await cli(['verify'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^\d+ events, 4 users, \d+ identities held: every invariant held/,
    );
    const json = JSON.parse((await cli(['verify', '--json'], env)).stdout);
    expect(json).toMatchObject({ ok: true, users: 4, violations: [] });
  });

  it('exports the log as JSON lines, all of it or after a position', async () => {
    const all = await cli(['export'], env);
    expect(all.code).toBe(0);
    const events = jsonLines(all.stdout);
    const log = await service.services.store.readAll({ after: null, limit: 100_000 });
    expect(events.map((e) => e.position)).toEqual(log.map((e) => e.position.toString()));
    expect(all.stdout).not.toContain('dee-cli@example.com');
    expect(all.stdout).not.toContain('scrypt');
    const middle = events[10]!.position as string;
    const since = jsonLines((await cli(['export', '--since', middle], env)).stdout);
    expect(since[0]!.position).toBe(events[11]!.position);
    expect(since).toHaveLength(events.length - 11);
  });

  it('says what is wrong with bad arguments, and exits 2', async () => {
    const unknown = await cli(['history', randomUUID()], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user');
    const badTime = await cli(['history', ids.ann!, '--at', 'yesterday'], env);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('not an ISO time');
    const badSince = await cli(['export', '--since', 'soon'], env);
    expect(badSince.code).toBe(2);
    const neverSeen = await cli(['identity', 'github', 'never'], env);
    expect(neverSeen.code).toBe(2);
  });
});

/** An event as a hand edit of the log would write it, outside any command handling. */
const event = (e: { type: string; data: object }, commandId = randomUUID()) => ({
  id: randomUUID(),
  type: e.type,
  data: e.data as Record<string, unknown>,
  metadata: {
    schemaVersion: 2,
    actor: 'hand edit',
    flow: 'admin' as const,
    correlationId: randomUUID(),
    causationId: randomUUID(),
    requestId: null,
    commandId,
    time: '2026-01-01T00:00:00.000Z',
  },
});

describe('account-links verify on a broken log', () => {
  it('exits 1 and names the offending event', async () => {
    const dataDir = tempDir();
    try {
      const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite') });
      // A sign-up (one command), an erasure, then something after the end.
      const signUp = randomUUID();
      await store.append(
        streams.user(USER),
        [event(registered(USER), signUp), event(passwordSet, signUp)],
        'no-stream',
      );
      await store.append(
        streams.user(USER),
        [event({ type: 'UserErased', data: { identities: [], usernameStream: null } })],
        1,
      );
      await store.append(streams.user(USER), [event(passwordSet)], 2);
      await store.close();

      const run = await cli(['verify'], { DATA_DIR: dataDir });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('1 violations');
      expect(run.stdout).toContain(`[after-the-end] PasswordSet user-${USER}#3`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('account-links export into a reader that stops early', () => {
  it('ends quietly with 0 when the pipe closes (`| head`)', async () => {
    const dataDir = tempDir();
    try {
      const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite') });
      // Far more than a pipe holds (64 KiB), so the export is still writing when head exits.
      const events = [
        registered(USER),
        ...Array.from({ length: 3000 }, () => passwordSet),
      ];
      await store.append(
        streams.user(USER),
        events.map((e) => event(e)),
        'no-stream',
      );
      await store.close();

      const run = await new Promise<Run>((resolve) => {
        execFile(
          'bash',
          [
            '-c',
            `"${process.execPath}" --import tsx src/cli.ts export | head -n 1; echo "exit=\${PIPESTATUS[0]}" >&2`,
          ],
          {
            cwd: ROOT,
            env: { PATH: process.env.PATH, DATA_DIR: dataDir },
            timeout: 30_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
        );
      });
      expect(jsonLines(run.stdout)).toHaveLength(1);
      expect(run.stderr).toContain('exit=0');
      expect(run.stderr).not.toMatch(/EPIPE|Error/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
