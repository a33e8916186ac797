import { randomBytes, randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.js';
import { streams } from '../../src/domain/values.js';
import { ERASED, withEventCodec } from '../../src/eventstore/codec.js';
import {
  WrongExpectedRevisionError,
  type EventStore,
  type NewEvent,
} from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { createMongoDataKeys, openSqliteDataKeys } from '../../src/storage/dataKeys.js';
import { createMongoTokenVault } from '../../src/storage/mongoTokenVault.js';
import { openSqliteTokenVault } from '../../src/storage/tokenVault.js';
import { keepSignInTokens } from '../../src/application/providerTokens.js';
import { createTokenCipher, parseKeyring } from '../../src/storage/tokenCipher.js';
import { commandSpec, profile } from '../support/commandSpec.js';
import { dropDatabase, freshDatabaseUrl, mongoUrl } from '../support/mongo.js';
import { tempDir } from '../support/service.js';

/**
 * Regression tests for what the race suite (races.e2e.spec.ts) found, each with the
 * interleaving it needed made certain instead of left to chance.
 */
const cipher = createTokenCipher(parseKeyring(randomBytes(32).toString('base64')));
const USER = randomUUID();

describe('a link racing an unlink of the same identity', () => {
  it('is decided on the user as the unlink left it, not refused with provider-already-linked', async () => {
    // The unlink runs whole right after the link has read the user's stream.
    let afterUserRead: (() => Promise<unknown>) | null = null;
    const raw = openSqliteEventStore({ file: ':memory:' });
    const store: EventStore = {
      ...raw,
      readStream: async (stream) => {
        const events = await raw.readStream(stream);
        const run = afterUserRead;
        if (run && stream.startsWith('user-')) {
          afterUserRead = null;
          await run();
        }
        return events;
      },
    };
    const spec = await commandSpec({ store });
    const { userId } = await spec.given({
      name: 'register-via-provider',
      input: { provider: 'github', subject: 'race-a', profile: profile() },
    });
    const google = { provider: 'google', subject: 'race-g' };
    await spec.given({
      name: 'link-provider',
      input: { userId, ...google, profile: profile() },
    });

    afterUserRead = () =>
      spec.run({ name: 'unlink-provider', input: { userId, ...google } });
    const outcome = await spec.when({
      name: 'link-provider',
      input: { userId, ...google, profile: profile() },
    });

    expect(afterUserRead).toBeNull();
    expect(outcome.error).toBeNull();
    expect(outcome.appended.map((e) => `${e.stream} ${e.type}`)).toEqual([
      `user-${userId} ProviderUnlinked`,
      `${streams.identity(google)} IdentityReleased`,
      `${streams.identity(google)} IdentityClaimed`,
      `user-${userId} ProviderLinked`,
    ]);
    await spec.close();
  });
});

describe('a registration racing a merge of the user that holds its identity', () => {
  it('answers 409 naming the survivor, not 201, when it moved the claim on itself', async () => {
    // The merge stops after closing the absorbed user, before moving its identity: as a
    // registration arriving just then finds it.
    let mergeStopped = false;
    const raw = openSqliteEventStore({ file: ':memory:' });
    const store: EventStore = {
      ...raw,
      append: (stream, events, expected) => {
        const moving = stream.startsWith('identity-') && mergeStopped === false;
        if (
          moving &&
          events.some((e) => (e.data as { purpose?: string }).purpose === 'merge')
        ) {
          mergeStopped = true;
          return Promise.reject(new Error('the merge stops here'));
        }
        return raw.append(stream, events, expected);
      },
    };
    const spec = await commandSpec({ store });
    const register = (provider: string, subject: string) =>
      spec.given({
        name: 'register-via-provider',
        input: { provider, subject, profile: profile() },
      });
    const survivor = (await register('google', 'race-s')).userId;
    const merged = (await register('github', 'race-m')).userId;
    await expect(
      spec.run({
        name: 'merge-users',
        input: { survivorId: survivor, mergedId: merged },
      }),
    ).rejects.toThrow('the merge stops here');

    const outcome = await spec.when({
      name: 'register-via-provider',
      input: { provider: 'github', subject: 'race-m', profile: profile() },
    });

    expect(outcome.result).toBeNull();
    expect(outcome.error?.code).toBe('identity-already-linked');
    expect(outcome.error?.details).toEqual({ userId: survivor });
    // It finished the merge's move of the identity, and created nobody.
    expect(outcome.appended.map((e) => e.type)).not.toContain('UserRegistered');
    await spec.close();
  });
});

describe('the tokens of a browser link that an erasure overtook', () => {
  it('go as soon as they are stored, when the erasure released the identity first', async () => {
    const spec = await commandSpec();
    const vault = openSqliteTokenVault(`${tempDir()}/vault.sqlite`, cipher);
    try {
      const tokens = {
        accessToken: 'gho_raced',
        refreshToken: null,
        scopes: [],
        expiresAt: null,
      };
      const ann = await spec.run({
        name: 'register-via-provider',
        input: { provider: 'github', subject: 'ann', profile: profile() },
      });
      const fresh = { provider: 'google', subject: 'fresh' };
      await spec.run({
        name: 'link-provider',
        input: { userId: ann.userId, ...fresh, profile: {} },
      });
      // The link's command is done; the erasure runs whole (its token removal finds
      // nothing yet) before the callback stores the tokens it brought.
      await spec.run({ name: 'erase-user', input: { userId: ann.userId } });
      await keepSignInTokens(spec.services, vault, fresh, tokens);
      expect(await vault.get(fresh)).toBeNull();

      // A sign-in whose identity is still held keeps them.
      const bob = { provider: 'github', subject: 'bob' };
      await spec.run({
        name: 'register-via-provider',
        input: { ...bob, profile: profile() },
      });
      await keepSignInTokens(spec.services, vault, bob, tokens);
      expect(await vault.get(bob)).toMatchObject({ accessToken: 'gho_raced' });
    } finally {
      await vault.close();
      await spec.close();
    }
  });
});

describe('a command sealing personal data for a user erased a moment before', () => {
  const mongo = mongoUrl();
  const clients: MongoClient[] = [];
  afterAll(async () => {
    for (const client of clients) {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  const keyStores = [
    ['SQLite', () => openSqliteDataKeys(`${tempDir()}/keys.sqlite`, cipher)],
    ...(mongo
      ? [
          [
            'MongoDB',
            () => {
              const client = new MongoClient(freshDatabaseUrl(mongo));
              clients.push(client);
              return createMongoDataKeys(client.db(), cipher);
            },
          ] as const,
        ]
      : []),
  ] as const;

  // Two instances over one table: neither finds the other's key in its cache.
  const sharedKeyStores = [
    [
      'SQLite',
      () => {
        const file = `${tempDir()}/keys.sqlite`;
        return () => openSqliteDataKeys(file, cipher);
      },
    ],
    ...(mongo
      ? [
          [
            'MongoDB',
            () => {
              const client = new MongoClient(freshDatabaseUrl(mongo));
              clients.push(client);
              return () => createMongoDataKeys(client.db(), cipher);
            },
          ] as const,
        ]
      : []),
  ] as const;

  it.each(sharedKeyStores)(
    "gives two first uses of a user's key at once the same key (%s)",
    async (_name, table) => {
      const open = table();
      for (let round = 0; round < 20; round += 1) {
        const userId = `00000000-0000-4000-8000-${String(round).padStart(12, '0')}`;
        const [a, b] = await Promise.all([open().keyFor(userId), open().keyFor(userId)]);
        expect(a.equals(b)).toBe(true);
        expect((await open().existingKeys([userId])).get(userId)?.equals(a)).toBe(true);
      }
    },
  );

  it.each(keyStores)(
    'makes no new key for the user (%s): the older data reads "[erased]", not an error',
    async (_name, open) => {
      const keys = open();
      const log = withEventCodec(openSqliteEventStore({ file: ':memory:' }), keys);
      const stream = streams.user(USER);
      await log.append(
        stream,
        [event('ProfileUpdated', { displayName: 'Eve' })],
        'no-stream',
      );
      await log.append(stream, [event('UserErased', { userId: USER })], 0);

      // The losing command seals its event before its append is refused.
      const late = log.append(
        stream,
        [event('ProfileUpdated', { displayName: 'Eve' })],
        0,
      );
      await expect(late).rejects.toBeInstanceOf(WrongExpectedRevisionError);

      expect((await keys.existingKeys([USER])).get(USER)).toBeNull();
      const [first] = await log.readStream(stream);
      expect(first!.data).toMatchObject({ displayName: ERASED });
    },
  );
});

describe.runIf(mongoUrl())('the MongoDB token vault', () => {
  it('stores the tokens of two first sign-ins of one identity at once, both times', async () => {
    const url = freshDatabaseUrl(mongoUrl()!);
    const client = new MongoClient(url);
    const vault = createMongoTokenVault(client.db(), cipher);
    const tokens = (accessToken: string) => ({
      accessToken,
      refreshToken: null,
      scopes: [],
      expiresAt: null,
    });
    try {
      for (let round = 0; round < 30; round += 1) {
        const identity = { provider: 'github', subject: `twice-${round}` };
        await Promise.all([
          vault.put(identity, tokens('first')),
          vault.put(identity, tokens('second')),
        ]);
        expect(['first', 'second']).toContain((await vault.get(identity))?.accessToken);
      }
    } finally {
      await client.close();
      await dropDatabase(url);
    }
  });
});

const event = (type: DomainEvent['type'], data: object): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: {
    schemaVersion: 1,
    actor: 'test',
    flow: 'api',
    correlationId: randomUUID(),
    causationId: randomUUID(),
    requestId: null,
    commandId: randomUUID(),
    time: new Date().toISOString(),
  },
});
