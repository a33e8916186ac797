import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainEvent } from '../src/domain/events.js';
import { streams } from '../src/domain/values.js';
import { withEventCodec, type PersonalDataKeys } from '../src/eventstore/codec.js';
import type { EventStore, NewEvent } from '../src/eventstore/port.js';
import { openSqliteEventStore } from '../src/eventstore/sqlite.js';
import { loadOrCreateDevelopmentSecrets } from '../src/secrets.js';
import { importSqliteDataKeys } from '../src/storage/dataKeys.js';
import { openDatabase } from '../src/storage/openDatabase.js';
import { createTokenCipher, parseKeyring } from '../src/storage/tokenCipher.js';

/** The generated log's users and identities, so that lookups can pick known ones. */
export const benchUserId = (i: number): string =>
  `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
export const benchGithubSubject = (i: number): string => String(10_000_000 + i);

/**
 * Writes a data directory whose log is what the service writes for `users` people who
 * each signed up with GitHub and then linked Google: per user, 5 events over 3 streams
 * (IdentityClaimed; UserRegistered + ProviderLinked; IdentityClaimed; ProviderLinked),
 * personal fields sealed by the real codec with per-user keys in the real key table.
 * Rows go in by bulk transactions (the service's own path, one command at a time, would
 * take as long as the benchmark itself).
 */
export const generateLog = async (dataDir: string, users: number): Promise<number> => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = loadOrCreateDevelopmentSecrets(dataDir);
  const cipher = createTokenCipher(parseKeyring(secrets.tokenEncryptionKey));
  openSqliteEventStore({ file: join(dataDir, 'events.sqlite') });

  // The codec seals into this list instead of a store.
  const keys = new Map<string, Buffer>();
  const emails: [string, string][] = [];
  const memoryKeys: PersonalDataKeys = {
    keyFor: async (userId) => {
      let key = keys.get(userId);
      if (!key) keys.set(userId, (key = randomBytes(32)));
      return key;
    },
    existingKeys: async (userIds) =>
      new Map(userIds.map((userId) => [userId, keys.get(userId) ?? null])),
    destroy: async (userId) => void keys.delete(userId),
    indexEmail: async (userId, email) => void emails.push([userId, email]),
    usersWithEmail: async () => [],
  };
  let sealed: { stream: string; events: NewEvent[] }[] = [];
  const collector = {
    append: async (stream: string, events: NewEvent[]) => {
      sealed.push({ stream, events });
      return { nextRevision: 0, position: 0n };
    },
  } as unknown as EventStore;
  const codec = withEventCodec(collector, memoryKeys);

  const db = openDatabase(join(dataDir, 'events.sqlite'));
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    'INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const start = Date.parse('2026-01-01T00:00:00Z');
  let written = 0;
  const meta = (time: number, commandId: string, type: string) => ({
    schemaVersion: type === 'UserRegistered' ? 2 : 1,
    actor: 'bench',
    flow: 'api' as const,
    correlationId: commandId,
    causationId: commandId,
    requestId: null,
    commandId,
    time: new Date(time).toISOString(),
  });
  const event = (e: DomainEvent, time: number, commandId: string): NewEvent => ({
    id: randomUUID(),
    type: e.type,
    data: e.data as Record<string, unknown>,
    metadata: meta(time, commandId, e.type),
  });

  const flush = () => {
    db.transaction(() => {
      for (const { stream, events } of sealed) {
        // Revisions: the generator writes each stream in order, so count per stream.
        for (const e of events) {
          const revision = revisions.get(stream) ?? 0;
          revisions.set(stream, revision + 1);
          insert.run(
            stream,
            revision,
            e.id,
            e.type,
            JSON.stringify(e.data),
            JSON.stringify(e.metadata),
          );
          written += 1;
        }
      }
    })();
    sealed = [];
  };
  const revisions = new Map<string, number>();

  for (let i = 0; i < users; i += 1) {
    const userId = benchUserId(i);
    const time = start + i * 1000;
    const register = randomUUID();
    const github = { provider: 'github', subject: benchGithubSubject(i) };
    const google = { provider: 'google', subject: `1${String(i).padStart(20, '0')}` };
    const profile = {
      displayName: `Bench Person ${i}`,
      email: `person${i}@example.com`,
      emailVerified: true,
    };
    await codec.append(
      streams.identity(github),
      [
        event(
          {
            type: 'IdentityClaimed',
            data: { ...github, userId, purpose: 'register', previousUserId: null },
          },
          time,
          register,
        ),
      ],
      'no-stream',
    );
    await codec.append(
      streams.user(userId),
      [
        event(
          {
            type: 'UserRegistered',
            data: {
              userId,
              method: 'provider',
              username: null,
              usernameStream: null,
              usernameClaimRevision: null,
              ...profile,
            },
          },
          time,
          register,
        ),
        event(
          { type: 'ProviderLinked', data: { ...github, ...profile, claimRevision: 0 } },
          time,
          register,
        ),
      ],
      'no-stream',
    );
    const link = randomUUID();
    await codec.append(
      streams.identity(google),
      [
        event(
          {
            type: 'IdentityClaimed',
            data: { ...google, userId, purpose: 'link', previousUserId: null },
          },
          time + 500,
          link,
        ),
      ],
      'no-stream',
    );
    await codec.append(
      streams.user(userId),
      [
        event(
          { type: 'ProviderLinked', data: { ...google, ...profile, claimRevision: 0 } },
          time + 500,
          link,
        ),
      ],
      1,
    );
    if (sealed.length >= 4000) {
      flush();
      revisions.clear();
    }
  }
  flush();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  await importSqliteDataKeys(join(dataDir, 'service.sqlite'), cipher, keys, emails);
  return written;
};
