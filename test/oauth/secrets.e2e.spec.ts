import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BSON, MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEventStoreDb } from '../../src/eventstore/eventStoreDb.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { streams } from '../../src/domain/values.js';
import { cookieBrowser, textOf } from '../support/browser.js';
import { apiClient, type ApiClient } from '../support/client.js';
import {
  linkWith,
  postFromAccount,
  signInWith,
  signInWithPassword,
  signOut,
} from '../support/flows.js';
import {
  CLIENTS,
  startProviderStandIns,
  type ProviderStandIns,
} from '../support/providers.js';
import {
  AUDITOR,
  READER,
  TOKEN,
  removeDataDir,
  startTestService,
  testLogger,
  type TestService,
} from '../support/service.js';

// Secrets of known value: the service's own, and the people's passwords. The OAuth
// tokens are the ones the provider stand-ins hand out, noted as they go.
const SESSION_SECRET = 'session-secret-for-the-secrets-scan-5f1c';
const TOKEN_KEY = randomBytes(32);
const VAULT = 'vault-secret-for-the-secrets-scan-77c2';
const PASSWORDS = {
  signUpForm: 'Quokka sign-up password 4711',
  api: 'Wombat api password 0815',
  accountPage: 'Numbat account password 2323',
  wrongAttempt: 'Dingo mistyped password 9999',
  refusedSignUp: 'Bilby refused password 3141',
};

interface Secret {
  name: string;
  value: string | Buffer;
}

/** Each way a secret could be written: as it is, base64, base64url, URL- or form-encoded. */
const spellings = (secret: Secret): { how: string; bytes: Buffer }[] => {
  const raw = Buffer.isBuffer(secret.value) ? secret.value : Buffer.from(secret.value);
  const text = raw.toString('utf8');
  const all = [
    { how: 'in clear', bytes: raw },
    { how: 'base64', bytes: Buffer.from(raw.toString('base64')) },
    // Without padding, so that it is found inside longer base64 too.
    { how: 'base64', bytes: Buffer.from(raw.toString('base64').replace(/=+$/, '')) },
    { how: 'base64url', bytes: Buffer.from(raw.toString('base64url')) },
    { how: 'URL-encoded', bytes: Buffer.from(encodeURIComponent(text)) },
    {
      how: 'form-encoded',
      bytes: Buffer.from(new URLSearchParams({ x: text }).toString().slice(2)),
    },
  ];
  return all.filter(
    (spelling, i) => all.findIndex((other) => other.bytes.equals(spelling.bytes)) === i,
  );
};

/** Every secret found in a place, by name and spelling. */
const found = (where: string, bytes: Buffer, secrets: Secret[]): string[] =>
  secrets.flatMap((secret) =>
    spellings(secret)
      .filter(({ bytes: spelled }) => bytes.includes(spelled))
      .map(({ how }) => `${secret.name} (${how}) in ${where}`),
  );

/** Every file under a directory, as bytes. */
const filesUnder = (dir: string): { path: string; bytes: Buffer }[] =>
  readdirSync(dir)
    .map((name) => join(dir, name))
    .flatMap((path) =>
      statSync(path).isDirectory()
        ? filesUnder(path)
        : [{ path, bytes: readFileSync(path) }],
    );

/**
 * After a whole run (sign-ups through GitHub and Google, a password sign-up and sign-in,
 * links, a token read and a refresh, sign-outs), nothing the service wrote holds a secret
 * in clear or in base64: the data directory's files (SQLite and its -wal), the log as
 * stored, MongoDB's documents (as JSON and as BSON), and every line it logged.
 */
describe('secrets: no token, password or key in clear anywhere the service writes', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let api: ApiClient;
  let skew = 0;
  let stopped = false;
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
    service = await startTestService(
      {
        ...providers.env,
        SERVICE_TOKENS: `tester=${TOKEN},reader:queries=${READER},auditor:audit=${AUDITOR},vault:tokens=${VAULT}`,
        SESSION_SECRET,
        TOKEN_ENCRYPTION_KEY: TOKEN_KEY.toString('base64'),
      },
      { logger, now: () => new Date(Date.now() + skew) },
    );
    providers.registerCallbackOrigin(service.url);
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    if (!stopped) await service.stop();
    await providers.close();
    removeDataDir(service);
  });

  /** The log as stored: SQLite rows or EventStoreDB events, without the service's codec. */
  const rawLog = async (): Promise<Buffer> => {
    const store: EventStore = service.config.eventStoreUrl
      ? await connectEventStoreDb({
          connectionString: service.config.eventStoreUrl,
          logger: testLogger(),
        })
      : openSqliteEventStore({ file: join(service.dataDir, 'events.sqlite') });
    try {
      const events = await store.readAll({ after: null, limit: 100_000 });
      expect(events.length).toBeGreaterThan(10);
      return Buffer.from(
        JSON.stringify(events, (_key, value: unknown) =>
          typeof value === 'bigint' ? value.toString() : value,
        ),
      );
    } finally {
      await store.close();
    }
  };

  /** Every document of every collection of the service's MongoDB database. */
  const mongoDocuments = async (): Promise<{ where: string; bytes: Buffer }[]> => {
    if (!service.config.mongoUrl) return [];
    const client = new MongoClient(service.config.mongoUrl);
    try {
      await client.connect();
      const db = client.db();
      const collections = await db.listCollections().toArray();
      expect(collections.map((c) => c.name)).toEqual(
        expect.arrayContaining([
          'sessions',
          'providerTokens',
          'idempotencyKeys',
          'dataKeys',
        ]),
      );
      return await Promise.all(
        collections.map(async ({ name }) => {
          const documents = await db.collection(name).find().toArray();
          return {
            where: `MongoDB ${name}`,
            bytes: Buffer.concat([
              Buffer.from(JSON.stringify(documents)),
              ...documents.map((document) => Buffer.from(BSON.serialize(document))),
            ]),
          };
        }),
      );
    } finally {
      await client.close();
    }
  };

  it('finds no OAuth token, password, session secret, encryption key or client secret', async () => {
    // 1. Sign-ups through GitHub and Google; the Google one links GitHub too.
    const octo = cookieBrowser();
    await signInWith(octo, service.url, 'github', {
      id: '8128',
      email: 'octo.secrets@example.com',
      emailVerified: true,
    });
    const goo = cookieBrowser();
    await signInWith(goo, service.url, 'google', {
      id: 'g-secrets-1',
      email: 'goo.secrets@example.com',
      emailVerified: true,
    });
    const linked = await linkWith(goo, service.url, 'github', { id: '8129' });
    expect(textOf(linked.html)).toContain('GitHub is now connected');
    // The GitHub user links Google, and sets a username and password on the account page.
    await linkWith(octo, service.url, 'google', { id: 'g-secrets-2' });
    const passwordSet = await postFromAccount(octo, service.url, '/account/password', {
      username: 'octo_secrets',
      password: PASSWORDS.accountPage,
    });
    expect(textOf(passwordSet.html)).toContain('Your password is set');

    // 2. Password sign-ups: the sign-up form, a refused one, and the API (with a key).
    const local = cookieBrowser();
    const home = await local.get(`${service.url}/`);
    const signedUp = await local.post(`${service.url}/auth/register`, {
      _csrf: /name="_csrf"\s+value="([^"]*)"/.exec(home.html)![1]!,
      username: 'quokka_secrets',
      password: PASSWORDS.signUpForm,
      email: 'quokka.secrets@example.com',
    });
    expect(textOf(signedUp.html)).toContain('Your account was created');
    const refused = cookieBrowser();
    const again = await refused.get(`${service.url}/`);
    await refused.post(`${service.url}/auth/register`, {
      _csrf: /name="_csrf"\s+value="([^"]*)"/.exec(again.html)![1]!,
      username: 'quokka_secrets',
      password: PASSWORDS.refusedSignUp,
    });
    const byApi = await api.command(
      'register-local-user',
      { username: 'wombat_secrets', password: PASSWORDS.api },
      { headers: { 'idempotency-key': 'secrets-scan-1' } },
    );
    expect(byApi.status).toBe(201);

    // 3. Password sign-ins, one mistyped.
    await signInWithPassword(
      cookieBrowser(),
      service.url,
      'wombat_secrets',
      PASSWORDS.wrongAttempt,
    );
    const wombat = cookieBrowser();
    const wombatIn = await signInWithPassword(
      wombat,
      service.url,
      'wombat_secrets',
      PASSWORDS.api,
    );
    expect(wombatIn.url).toBe(`${service.url}/account`);

    // 4. A trusted service reads the tokens; two hours later Google's is refreshed.
    const octoId = (await api.get('/api/identities/github/8128')).body.userId as string;
    const gooId = (await api.get('/api/identities/google/g-secrets-1')).body
      .userId as string;
    const tokenOf = async (userId: string, provider: string) => {
      const reply = await api.get<{ accessToken: string }>(
        `/api/users/${userId}/connections/${provider}/token`,
        { token: VAULT },
      );
      expect(reply.status).toBe(200);
      return reply.body.accessToken;
    };
    const githubToken = await tokenOf(octoId, 'github');
    const googleToken = await tokenOf(gooId, 'google');
    skew = 2 * 3_600_000;
    const refreshedToken = await tokenOf(gooId, 'google');
    expect(refreshedToken).not.toBe(googleToken);
    expect(providers.provider.refreshCount()).toBe(1);

    // 5. Everyone signs out.
    for (const browser of [octo, goo, local, wombat]) await signOut(browser, service.url);

    // The controls: the secrets looked for are the real ones, and the scan reads them.
    const { accessTokens, refreshTokens } = providers.issued;
    expect(accessTokens).toEqual(
      expect.arrayContaining([githubToken, googleToken, refreshedToken]),
    );
    // Four sign-ins and links, and one refresh; Google gives a refresh token twice.
    expect(accessTokens.length).toBe(5);
    expect(refreshTokens.length).toBe(2);
    const vaulted = await service.vault.get({
      provider: 'google',
      subject: 'g-secrets-1',
    });
    expect(vaulted).toMatchObject({
      accessToken: refreshedToken,
      refreshToken: expect.any(String),
    });
    expect(refreshTokens).toContain(vaulted!.refreshToken);

    const secrets: Secret[] = [
      ...accessTokens.map((value, i) => ({ name: `access token ${i + 1}`, value })),
      ...refreshTokens.map((value, i) => ({ name: `refresh token ${i + 1}`, value })),
      ...Object.entries(PASSWORDS).map(([name, value]) => ({
        name: `password (${name})`,
        value,
      })),
      { name: 'session secret', value: SESSION_SECRET },
      { name: 'token encryption key', value: TOKEN_KEY },
      { name: 'GitHub client secret', value: CLIENTS.github.clientSecret },
      { name: 'Google client secret', value: CLIENTS.google.clientSecret },
      ...[TOKEN, READER, AUDITOR, VAULT].map((value, i) => ({
        name: `service token ${i + 1}`,
        value,
      })),
    ];

    // 6. The data directory while the service runs (the -wal files hold the latest
    //    writes), then after it stopped; the log as stored; MongoDB; every log line.
    const scan = (places: { where: string; bytes: Buffer }[]) =>
      places.flatMap(({ where, bytes }) => found(where, bytes, secrets));
    const running = filesUnder(service.dataDir);
    expect(running.map((f) => f.path).join(' ')).toMatch(/\.sqlite-wal\b/);
    // A control for the scan itself: a stream name just written is found in the files.
    if (!service.config.eventStoreUrl) {
      const stream = streams.identity({ provider: 'github', subject: '8128' });
      const all = Buffer.concat(running.map((f) => f.bytes));
      expect(found('files', all, [{ name: 'stream', value: stream }])).not.toEqual([]);
    }
    const whileRunning = scan(running.map(({ path, bytes }) => ({ where: path, bytes })));
    const inLog = scan([{ where: 'the log', bytes: await rawLog() }]);
    const inMongo = scan(await mongoDocuments());
    await service.stop();
    stopped = true;
    const afterStop = scan(
      filesUnder(service.dataDir).map(({ path, bytes }) => ({ where: path, bytes })),
    );
    expect(logs.length).toBeGreaterThan(50);
    const inLogs = scan([{ where: 'the logs', bytes: Buffer.from(logs.join('\n')) }]);

    expect(whileRunning).toEqual([]);
    expect(afterStop).toEqual([]);
    expect(inLog).toEqual([]);
    expect(inMongo).toEqual([]);
    expect(inLogs).toEqual([]);
  });
});
