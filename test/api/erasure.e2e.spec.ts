import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEventStoreDb } from '../../src/eventstore/eventStoreDb.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { cookieBrowser, textOf } from '../support/browser.js';
import { apiClient, type ApiClient } from '../support/client.js';
import {
  linkWith,
  postFromAccount,
  signInWith,
  signInWithPassword,
} from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  testLogger,
  type TestService,
} from '../support/service.js';

// The person to be forgotten, as GitHub and Google describe them and as they name
// themselves here. Unusual enough that a match anywhere is theirs.
const PERSON = {
  githubEmail: 'zelda.erasure-gh@example.com',
  googleEmail: 'zelda.erasure-gg@example.com',
  name: 'Zelda Qxerasure',
  login: 'zeldaqx-gh',
  username: 'zelda_qxerasure',
  password: 'a password of zelda',
  // The account they had made before, merged into this one.
  oldUsername: 'zelda_old_qxerasure',
  oldEmail: 'zelda.erasure-old@example.com',
};
const TRACES = [
  PERSON.githubEmail,
  PERSON.googleEmail,
  PERSON.name,
  PERSON.login,
  PERSON.username,
  PERSON.oldUsername,
  PERSON.oldEmail,
];

/** Every file under a directory, as bytes read as Latin-1 (so any UTF-8 text shows). */
const filesText = (dir: string): string =>
  readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) =>
      statSync(path).isDirectory() ? filesText(path) : readFileSync(path, 'latin1'),
    )
    .join('\n');

const tracesIn = (text: string): string[] =>
  TRACES.filter((trace) => text.toLowerCase().includes(trace.toLowerCase()));

describe('erasure: nothing of the person is left in clear anywhere the service writes', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let api: ApiClient;
  const logs: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );

  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService(providers.env, { logger });
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });

  /** The log as stored: SQLite rows or EventStoreDB events, without the service's codec. */
  const rawLog = async (): Promise<string> => {
    const store: EventStore = service.config.eventStoreUrl
      ? await connectEventStoreDb({
          connectionString: service.config.eventStoreUrl,
          logger: testLogger(),
        })
      : openSqliteEventStore({ file: join(service.dataDir, 'events.sqlite') });
    try {
      const events = await store.readAll({ after: null, limit: 100_000 });
      expect(events.length).toBeGreaterThan(10);
      return JSON.stringify(events, (_key, value: unknown) =>
        typeof value === 'bigint' ? value.toString() : value,
      );
    } finally {
      await store.close();
    }
  };

  /** Every document of every collection of the service's MongoDB database. */
  const mongoDump = async (): Promise<string> => {
    if (!service.config.mongoUrl) return '';
    const client = new MongoClient(service.config.mongoUrl);
    try {
      await client.connect();
      const db = client.db();
      const collections = await db.listCollections().toArray();
      expect(collections.map((c) => c.name)).toEqual(
        expect.arrayContaining(['sessions', 'providerTokens', 'dataKeys']),
      );
      const dumps = await Promise.all(
        collections.map(async ({ name }) =>
          JSON.stringify(await db.collection(name).find().toArray()),
        ),
      );
      return dumps.join('\n');
    } finally {
      await client.close();
    }
  };

  it('erases the person: keys, read model, sessions and tokens; the history replays with [erased]', async () => {
    // 1. The person signs up with GitHub, connects Google, sets a username and password,
    //    and is signed in in two browsers.
    const first = cookieBrowser();
    await signInWith(first, service.url, 'github', {
      id: 'zq-1',
      login: PERSON.login,
      name: PERSON.name,
      email: PERSON.githubEmail,
      emailVerified: true,
    });
    await linkWith(first, service.url, 'google', {
      id: 'zq-g1',
      name: PERSON.name,
      email: PERSON.googleEmail,
      emailVerified: true,
    });
    const passwordSet = await postFromAccount(first, service.url, '/account/password', {
      username: PERSON.username,
      password: PERSON.password,
    });
    expect(textOf(passwordSet.html)).toContain('Your password is set');
    const second = cookieBrowser();
    const signedIn = await signInWithPassword(
      second,
      service.url,
      PERSON.username,
      PERSON.password,
    );
    expect(signedIn.url).toBe(`${service.url}/account`);

    const userId = (await api.get('/api/identities/github/zq-1')).body.userId as string;
    // They had signed up before, with a username; that account was merged into this one.
    const old = await api.command('register-local-user', {
      username: PERSON.oldUsername,
      password: PERSON.password,
      email: PERSON.oldEmail,
    });
    expect(old.status).toBe(201);
    const oldId = old.body.userId as string;
    const merge = await api.command('merge-users', {
      survivorId: userId,
      mergedId: oldId,
    });
    expect(merge.status).toBe(200);
    const oldBefore = await api.get(`/api/users/${oldId}`);
    expect(oldBefore.body).toMatchObject({ status: 'merged', mergedInto: userId });
    expect(tracesIn(JSON.stringify(oldBefore.body))).toContain(PERSON.oldEmail);
    const before = await api.get(`/api/users/${userId}`);
    // The controls: the person is there to be found, and the tokens are stored.
    expect(tracesIn(JSON.stringify(before.body))).toEqual(
      expect.arrayContaining([PERSON.githubEmail, PERSON.name, PERSON.username]),
    );
    expect(
      await service.vault.get({ provider: 'github', subject: 'zq-1' }),
    ).not.toBeNull();
    expect(
      await service.vault.get({ provider: 'google', subject: 'zq-g1' }),
    ).not.toBeNull();
    if (service.config.mongoUrl) expect(tracesIn(await mongoDump())).not.toEqual([]);

    // 2. Erasure.
    const erased = await api.command('erase-user', { userId });
    expect(erased.status).toBe(200);

    // Both browsers are signed out; the tokens are gone; the user shows its id only.
    for (const browser of [first, second]) {
      const page = await browser.get(`${service.url}/account`);
      expect(page.url).toBe(`${service.url}/`);
      expect(textOf(page.html)).toContain('Sign in first');
    }
    expect(await service.vault.get({ provider: 'github', subject: 'zq-1' })).toBeNull();
    expect(await service.vault.get({ provider: 'google', subject: 'zq-g1' })).toBeNull();
    expect((await api.get(`/api/users/${userId}`)).body).toEqual({
      userId,
      status: 'erased',
    });
    expect((await api.get('/api/identities/github/zq-1')).body).toMatchObject({
      status: 'released',
    });
    // The merged account is the same person: erased with them, its username free again.
    expect((await api.get(`/api/users/${oldId}`)).body).toEqual({
      userId: oldId,
      status: 'erased',
    });
    const oldHistory = await api.get(`/api/audit/users/${oldId}/events`, {
      token: AUDITOR,
    });
    expect(oldHistory.status).toBe(200);
    expect(tracesIn(JSON.stringify(oldHistory.body))).toEqual([]);
    const reused = await api.command('register-local-user', {
      username: PERSON.oldUsername,
      password: 'someone else entirely',
    });
    expect(reused.status).toBe(201);
    await api.command('erase-user', { userId: reused.body.userId as string });

    // The history still replays: what happened and when, "[erased]" where the data was.
    const history = await api.get<{ events: { type: string; data: object }[] }>(
      `/api/audit/users/${userId}/events`,
      { token: AUDITOR },
    );
    expect(history.status).toBe(200);
    expect(history.body.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'UserRegistered',
        'ProviderLinked',
        'PasswordSet',
        'UsernameSet',
        'UserErased',
        'IdentityReleased',
        'UsernameReleased',
      ]),
    );
    const registered = history.body.events.find((e) => e.type === 'UserRegistered')!;
    expect(registered.data).toMatchObject({
      displayName: '[erased]',
      email: '[erased]',
    });
    expect(tracesIn(JSON.stringify(history.body))).toEqual([]);
    const verify = await api.get('/api/audit/verify', { token: AUDITOR });
    expect(verify.body).toMatchObject({ ok: true, violations: [] });

    // 3. Everywhere the service writes, once it has stopped and flushed: the data
    //    directory's files, the log as stored, MongoDB, and every line it logged.
    service = await service.restart({});
    api = apiClient(service.url, service.services.store);
    const again = await api.get(`/api/audit/users/${userId}/events`, { token: AUDITOR });
    expect(again.status).toBe(200);
    expect(tracesIn(JSON.stringify(again.body))).toEqual([]);
    await service.stop();

    expect(tracesIn(filesText(service.dataDir))).toEqual([]);
    expect(tracesIn(await rawLog())).toEqual([]);
    expect(tracesIn(await mongoDump())).toEqual([]);
    expect(logs.length).toBeGreaterThan(20);
    expect(tracesIn(logs.join('\n'))).toEqual([]);
  });
});
