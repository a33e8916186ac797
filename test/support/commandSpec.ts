import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { runCommand, type Command } from '../../src/application/commands/index.js';
import type { CommandContext, Services } from '../../src/application/context.js';
import type { CommandResult } from '../../src/application/result.js';
import { AccountLinkingError, type ErrorCode } from '../../src/domain/errors.js';
import type { DomainEvent } from '../../src/domain/events.js';
import { DEFAULT_POLICY, type Policy } from '../../src/domain/policies.js';
import { foldEmail } from '../../src/domain/values.js';
import type { EventStore, NewEvent } from '../../src/eventstore/port.js';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { createMemoryReadModel } from '../../src/projections/memory.js';
import { startProjectionRunner } from '../../src/projections/runner.js';
import { withEventCodec, type PersonalDataKeys } from '../../src/eventstore/codec.js';
import { testLogger } from './service.js';

/** Per-user data keys and the email index in maps: the test's own key store. */
export const memoryDataKeys = (): PersonalDataKeys & { has(userId: string): boolean } => {
  const keys = new Map<string, Buffer>();
  const emails = new Map<string, Set<string>>();
  return {
    keyFor: async (userId) => {
      if (!keys.has(userId)) keys.set(userId, randomBytes(32));
      return keys.get(userId)!;
    },
    existingKeys: async (userIds) =>
      new Map(userIds.map((userId) => [userId, keys.get(userId) ?? null])),
    destroy: async (userId) => {
      keys.delete(userId);
      for (const users of emails.values()) users.delete(userId);
    },
    indexEmail: async (userId, email) => {
      const folded = foldEmail(email);
      emails.set(folded, (emails.get(folded) ?? new Set()).add(userId));
    },
    usersWithEmail: async (email) => [...(emails.get(foldEmail(email)) ?? [])],
    has: (userId) => keys.has(userId),
  };
};

export interface Appended {
  stream: string;
  type: string;
  data: Record<string, unknown>;
}

export interface Outcome {
  result: CommandResult | null;
  error: AccountLinkingError | null;
  appended: Appended[];
}

export interface SpecOptions {
  policy?: Partial<Policy>;
  store?: EventStore;
  /** The per-user data keys (by default a fresh set of the spec's own). */
  keys?: PersonalDataKeys;
  repairGraceMs?: number;
}

/**
 * Given/when/then for whole commands, across streams: given what is in the log (events,
 * or earlier commands), when a command runs, then exactly these events are appended (or
 * this refusal, and nothing appended).
 */
export const commandSpec = async (options: SpecOptions = {}) => {
  // As in the service: personal data sealed with per-user keys (kept in memory here).
  const keys = options.keys ?? memoryDataKeys();
  const store = withEventCodec(
    options.store ?? openSqliteEventStore({ file: ':memory:' }),
    keys,
  );
  const readModel = createMemoryReadModel({ store, emailIndex: keys });
  const projection = await startProjectionRunner({
    store,
    readModel,
    logger: testLogger(),
  });
  let now = Date.parse('2026-01-01T00:00:00Z');
  const services: Services = {
    store,
    readModel,
    projection,
    policy: { ...DEFAULT_POLICY, ...options.policy },
    logger: testLogger(),
    // Every reading of the clock moves it on by a second, so times are distinct.
    now: () => new Date((now += 1000)),
    passwords: { cost: 10 },
    repairGraceMs: options.repairGraceMs ?? 30_000,
    maxAttempts: 12,
  };

  const context = (overrides: Partial<CommandContext> = {}): CommandContext => ({
    actor: 'spec',
    flow: 'api',
    correlationId: randomUUID(),
    requestId: null,
    commandId: randomUUID(),
    idempotent: false,
    ...overrides,
  });

  const run = (
    command: Command,
    overrides: Partial<CommandContext> & { expectedRevision?: number } = {},
  ) => runCommand(services, context(overrides), command, overrides.expectedRevision);

  const appendedSince = async (before: bigint | null): Promise<Appended[]> =>
    (await store.readAll({ after: before, limit: 10_000 })).map((event) => ({
      stream: event.stream,
      type: event.type,
      data: event.data,
    }));

  return {
    services,
    store,
    keys,
    readModel,
    projection,
    run,
    /** Runs commands as the "given" of a spec; each must succeed. */
    given: async (command: Command) => run(command),
    /** Puts raw events in a stream as the "given" of a spec. */
    givenEvents: async (
      stream: string,
      events: DomainEvent[],
      commandId = randomUUID(),
    ) => {
      const current = (await store.readStream(stream)).length - 1;
      const proposed: NewEvent[] = events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: {
          schemaVersion: 1,
          actor: 'given',
          flow: 'api',
          correlationId: randomUUID(),
          causationId: randomUUID(),
          requestId: null,
          commandId,
          time: new Date((now += 1000)).toISOString(),
        },
      }));
      await store.append(stream, proposed, current < 0 ? 'no-stream' : current);
    },
    when: async (
      command: Command,
      overrides: Partial<CommandContext> & { expectedRevision?: number } = {},
    ): Promise<Outcome> => {
      const before = await store.headPosition();
      let result: CommandResult | null = null;
      let error: AccountLinkingError | null = null;
      try {
        result = await run(command, overrides);
      } catch (thrown) {
        if (!(thrown instanceof AccountLinkingError)) throw thrown;
        error = thrown;
      }
      return { result, error, appended: await appendedSince(before) };
    },
    /** Lets time pass, for the repair grace period. */
    advance: (ms: number) => {
      now += ms;
    },
    close: async () => {
      await projection.stop();
      await store.close();
    },
  };
};

export type CommandSpec = Awaited<ReturnType<typeof commandSpec>>;

export const expectRefusal = (outcome: Outcome, code: ErrorCode): void => {
  expect(outcome.error?.code).toBe(code);
  expect(outcome.appended).toEqual([]);
};

export const types = (outcome: Outcome): string[] => outcome.appended.map((e) => e.type);

export const profile = (email: string | null = null, emailVerified = false) => ({
  displayName: null,
  email,
  emailVerified,
});
