import type { EventStore, StoredEvent } from '../../src/eventstore/port.js';
import { identityView, userView } from '../../src/http/views.js';
import type { ApiClient } from '../support/client.js';
import { referenceReplay } from '../support/replay.js';
import type { RoundReport } from './pairs.js';
import { keyOf } from './pairs.js';
import { runPool, type IdentityRef } from './raceWorld.js';

/** The whole log, personal data opened, in log order. */
export const readWholeLog = async (store: EventStore): Promise<StoredEvent[]> => {
  const log: StoredEvent[] = [];
  let after: bigint | null = null;
  for (;;) {
    const batch = await store.readAll({ after, limit: 1000 });
    if (batch.length === 0) return log;
    log.push(...batch);
    after = batch.at(-1)!.position;
  }
};

/**
 * Asks the service's read model for every user and identity, once it has caught up with
 * the log, and compares each answer with the view of a fresh replay of the log; returns
 * the differences, in words.
 */
export const differencesFromReplay = async (
  api: ApiClient,
  log: StoredEvent[],
  users: string[],
  identities: IdentityRef[],
): Promise<string[]> => {
  const replay = referenceReplay(log);
  const caughtUp = `minPosition=${log.at(-1)?.position ?? 0n}`;
  const differences: string[] = [];
  const compare = (what: string, status: number, actual: unknown, expected: unknown) => {
    const wanted = expected === null ? 404 : 200;
    const same =
      status === wanted &&
      (expected === null || JSON.stringify(actual) === JSON.stringify(expected));
    if (!same) {
      differences.push(
        `${what}: the read model answers ${status} ${JSON.stringify(actual)}, ` +
          `the replay ${JSON.stringify(expected)}`,
      );
    }
  };
  await runPool(users.length, 8, async (index) => {
    const userId = users[index]!;
    const reply = await api.get(`/api/users/${userId}?${caughtUp}`);
    const doc = replay.getUser(userId);
    compare(`user ${userId}`, reply.status, reply.body, doc && userView(doc));
  });
  await runPool(identities.length, 8, async (index) => {
    const identity = identities[index]!;
    const { provider, subject } = identity;
    const reply = await api.get(`/api/identities/${provider}/${subject}?${caughtUp}`);
    const doc = replay.getIdentity(identity);
    compare(keyOf(identity), reply.status, reply.body, doc && identityView(doc));
  });
  return differences;
};

/**
 * Every user the log ever shows an identity claimed for must be one its pair allows:
 * one user only for an identity two first sign-ins raced for (invariant 4).
 */
export const unexpectedHolders = (
  log: StoredEvent[],
  reports: RoundReport[],
): string[] => {
  const claimedFor = new Map<string, Set<string>>();
  for (const event of log) {
    if (event.type !== 'IdentityClaimed') continue;
    const data = event.data as {
      provider: string;
      subject: string;
      userId: string | null;
    };
    if (data.userId === null) continue;
    const key = `${data.provider}:${data.subject}`;
    claimedFor.set(key, (claimedFor.get(key) ?? new Set()).add(data.userId));
  }
  const problems: string[] = [];
  for (const { holders } of reports) {
    for (const { identity, mayBe } of holders) {
      const users = [...(claimedFor.get(keyOf(identity)) ?? [])];
      const allowed =
        mayBe === 'one-user'
          ? users.length === 1
          : users.every((userId) => mayBe.includes(userId));
      if (!allowed) {
        problems.push(`${keyOf(identity)} was claimed for ${users.join(', ')}`);
      }
    }
  }
  return problems;
};
