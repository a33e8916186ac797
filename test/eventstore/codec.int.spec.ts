import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.js';
import { streams } from '../../src/domain/values.js';
import { ERASED, withEventCodec } from '../../src/eventstore/codec.js';
import type { EventStore, NewEvent } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import {
  commandSpec,
  memoryDataKeys,
  profile,
  type CommandSpec,
} from '../support/commandSpec.js';
import { OTHER, USER } from '../support/domain.js';

const written = (event: DomainEvent, schemaVersion: number): NewEvent => ({
  id: randomUUID(),
  type: event.type,
  data: event.data,
  metadata: {
    schemaVersion,
    actor: 'an older version',
    flow: 'api',
    correlationId: randomUUID(),
    causationId: randomUUID(),
    requestId: null,
    commandId: randomUUID(),
    time: '2025-06-01T00:00:00.000Z',
  },
});

describe('the event codec: upcasting and sealed personal data', () => {
  let spec: CommandSpec | null = null;
  let raw: EventStore;
  afterEach(async () => {
    await spec?.close();
    spec = null;
  });

  it('reads a v1 UserRegistered and UsernameSet as v2, and erasure releases the username they name', async () => {
    // As an older version wrote them: v1 has no usernameStream, and nothing is sealed.
    raw = openSqliteEventStore({ file: ':memory:' });
    const usernameStream = streams.username('OldTimer');
    await raw.append(
      usernameStream,
      [written({ type: 'UsernameClaimed', data: { userId: USER } }, 1)],
      'no-stream',
    );
    await raw.append(
      streams.user(USER),
      [
        written(
          {
            type: 'UserRegistered',
            data: {
              userId: USER,
              method: 'password',
              username: 'OldTimer',
              usernameClaimRevision: 0,
              displayName: null,
              email: null,
              emailVerified: false,
            } as never,
          },
          1,
        ),
        written({ type: 'PasswordSet', data: { passwordHash: 'scrypt$old' } }, 1),
      ],
      'no-stream',
    );

    // And one who chose a username later (UsernameSet v1).
    const laterStream = streams.username('Later');
    await raw.append(
      laterStream,
      [written({ type: 'UsernameClaimed', data: { userId: OTHER } }, 1)],
      'no-stream',
    );
    await raw.append(
      streams.user(OTHER),
      [
        written(
          {
            type: 'UserRegistered',
            data: {
              userId: OTHER,
              method: 'password',
              username: null,
              usernameClaimRevision: null,
              displayName: null,
              email: null,
              emailVerified: false,
            } as never,
          },
          1,
        ),
        written({ type: 'PasswordSet', data: { passwordHash: 'scrypt$old' } }, 1),
        written(
          {
            type: 'UsernameSet',
            data: { username: 'Later', usernameClaimRevision: 0 } as never,
          },
          1,
        ),
      ],
      'no-stream',
    );

    spec = await commandSpec({ store: raw });
    const later = await spec.store.readStream(streams.user(OTHER));
    expect(later.at(-1)!.data).toMatchObject({
      username: 'Later',
      usernameStream: laterStream,
    });
    const erasedLater = await spec.when({ name: 'erase-user', input: { userId: OTHER } });
    expect(erasedLater.appended).toContainEqual(
      expect.objectContaining({ stream: laterStream, type: 'UsernameReleased' }),
    );
    const [registered] = await spec.store.readStream(streams.user(USER));
    expect(registered!.data).toMatchObject({ username: 'OldTimer', usernameStream });
    expect(registered!.metadata.schemaVersion).toBe(1);

    // The domain runs on the upcast events: erasure finds and releases the username.
    const erased = await spec.when({ name: 'erase-user', input: { userId: USER } });
    expect(erased.error).toBeNull();
    expect(erased.appended).toContainEqual(
      expect.objectContaining({ stream: usernameStream, type: 'UsernameReleased' }),
    );
    // The log was not rewritten: the v1 event is stored as it was.
    const [stored] = await raw.readStream(streams.user(USER));
    expect(stored!.data).not.toHaveProperty('usernameStream');
  });

  it('stores personal fields sealed, reads them back, and shows "[erased]" once the key is destroyed', async () => {
    raw = openSqliteEventStore({ file: ':memory:' });
    const keys = memoryDataKeys();
    spec = await commandSpec({ store: raw, keys });
    const { userId } = await spec.run({
      name: 'register-via-provider',
      input: {
        provider: 'github',
        subject: 'seal-1',
        profile: { ...profile('seal@example.com', true), displayName: 'Sealy' },
      },
    });
    const stored = JSON.stringify(
      (await raw.readStream(streams.user(userId))).map((event) => event.data),
    );
    expect(stored).not.toContain('seal@example.com');
    expect(stored).not.toContain('Sealy');
    expect(stored).toContain('$personal');
    const read = await spec.store.readStream(streams.user(userId));
    expect(read[0]!.data).toMatchObject({
      email: 'seal@example.com',
      displayName: 'Sealy',
    });

    await spec.run({ name: 'erase-user', input: { userId } });
    expect(keys.has(userId)).toBe(false);
    const after = await spec.store.readStream(streams.user(userId));
    expect(after[0]!.data).toMatchObject({ email: ERASED, displayName: ERASED });
    expect(after.map((e) => e.type)).toContain('UserErased');
  });

  it('opens personal fields nested in lists, each read a copy of its own', async () => {
    raw = openSqliteEventStore({ file: ':memory:' });
    const codec = withEventCodec(raw, memoryDataKeys());
    const identity = (subject: string, email: string) => ({
      provider: 'github' as const,
      subject,
      claimRevision: 0,
      displayName: `Person ${subject}`,
      email,
      emailVerified: true,
    });
    await codec.append(
      streams.user(USER),
      [
        written(
          {
            type: 'UsersMerged',
            data: {
              mergedId: OTHER,
              identities: [
                identity('m-1', 'one@example.com'),
                identity('m-2', 'two@example.com'),
              ],
            },
          },
          1,
        ),
      ],
      'no-stream',
    );
    const stored = JSON.stringify(
      (await raw.readStream(streams.user(USER))).map((event) => event.data),
    );
    expect(stored).not.toContain('@example.com');

    const [first] = await codec.readStream(streams.user(USER));
    expect(first!.data).toEqual({
      mergedId: OTHER,
      identities: [
        identity('m-1', 'one@example.com'),
        identity('m-2', 'two@example.com'),
      ],
    });
    // What one reader does to its copy, another reader does not see.
    (first!.data.identities as { email: string }[])[0]!.email = 'changed@example.com';
    const [second] = await codec.readStream(streams.user(USER));
    expect((second!.data.identities as { email: string }[])[0]!.email).toBe(
      'one@example.com',
    );
  });

  it('refuses to read sealed data that was changed', async () => {
    raw = openSqliteEventStore({ file: ':memory:' });
    const keys = memoryDataKeys();
    const codec = withEventCodec(raw, keys);
    await codec.append(
      streams.user(USER),
      [written({ type: 'PasswordSet', data: { passwordHash: 'scrypt$x' } }, 1)],
      'no-stream',
    );
    const [event] = await raw.readStream(streams.user(USER));
    const sealed = event!.data.$personal as { paths: string[]; sealed: string };
    const bytes = Buffer.from(sealed.sealed, 'base64');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    // Another store holding the changed bytes, read with the same key.
    const tampered = openSqliteEventStore({ file: ':memory:' });
    await tampered.append(
      streams.user(USER),
      [
        {
          ...written({ type: 'PasswordSet', data: {} as never }, 1),
          data: {
            passwordHash: null,
            $personal: { ...sealed, sealed: bytes.toString('base64') },
          },
        },
      ],
      'no-stream',
    );
    await expect(
      withEventCodec(tampered, keys).readStream(streams.user(USER)),
    ).rejects.toThrow();
  });
});
