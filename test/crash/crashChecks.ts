import type { VerifyReport } from '../../src/audit/verify.js';
import { identityKeyOf, type IdentityKey } from '../../src/domain/values.js';
import type { StoredEvent } from '../../src/eventstore/port.js';
import { identityView, userView } from '../../src/http/views.js';
import { identityOf, userIdOf } from '../../src/projections/projectors.js';
import { apiClient } from '../support/client.js';
import { referenceReplay } from '../support/replay.js';
import type { ExpectedUser, SentCommand } from './commandMix.js';

/**
 * The checks after the kills. Each returns what it found wrong, in words (empty when all
 * is well), so that the report can count it and a failure can show it.
 */

export type Replay = ReturnType<typeof referenceReplay>;

/** The log as an external auditor reads it: `GET /api/audit/export`, JSON lines. */
export const exportedLog = async (url: string, token: string): Promise<StoredEvent[]> => {
  const res = await fetch(`${url}/api/audit/export`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const event = JSON.parse(line) as Omit<StoredEvent, 'position'> & {
        position: string;
      };
      return { ...event, position: BigInt(event.position) };
    });
};

export const verifyReport = async (url: string, token: string): Promise<VerifyReport> => {
  const reply = await apiClient(url).get<VerifyReport>('/api/audit/verify', { token });
  if (reply.status !== 200) throw new Error(`verify answered ${reply.status}`);
  return reply.body;
};

/**
 * An acknowledged command is lost when the log lacks an event its answer named: the
 * answer's events must be the events the log holds under the command's correlation id
 * (every attempt sent the same one), and its position must hold its last event, on the
 * answer's user stream when that is where the command ended.
 */
export const lostCommands = (acknowledged: SentCommand[], log: StoredEvent[]) => {
  const byCorrelation = new Map<string, StoredEvent[]>();
  for (const event of log) {
    const id = event.metadata.correlationId;
    byCorrelation.set(id, [...(byCorrelation.get(id) ?? []), event]);
  }
  const byPosition = new Map(log.map((event) => [event.position.toString(), event]));
  const userRevisions = new Set(log.map((event) => `${event.stream}@${event.revision}`));

  const losses: string[] = [];
  const mismatches: string[] = [];
  for (const command of acknowledged) {
    const answer = command.answer as { userId: string; revision: number };
    const events = command.answer!.events as string[];
    const position = String(command.answer!.position);
    const found = (byCorrelation.get(command.correlationId) ?? []).map((e) => e.type);
    const label = `#${command.seq} ${command.name} ${JSON.stringify(command.answer)}`;

    const missing = [...events];
    for (const type of found) {
      const index = missing.indexOf(type);
      if (index >= 0) missing.splice(index, 1);
    }
    const last = byPosition.get(position);
    if (missing.length > 0) {
      losses.push(`${label}: the log lacks ${missing.join(', ')}`);
    } else if (events.length > 0 && last?.type !== events.at(-1)) {
      losses.push(`${label}: position ${position} holds ${last?.type ?? 'nothing'}`);
    } else if (!userRevisions.has(`user-${answer.userId}@${answer.revision}`)) {
      losses.push(`${label}: user-${answer.userId} has no revision ${answer.revision}`);
    }
    if (found.join() !== events.join()) {
      mismatches.push(`${label}: the log holds ${found.join(', ') || 'nothing'}`);
    }
  }
  return { losses, mismatches };
};

/** What the client knows it did, against the log: a difference is an undone effect. */
export const expectationDifferences = (
  expected: ExpectedUser[],
  replay: Replay,
): string[] => {
  const differences: string[] = [];
  for (const user of expected) {
    const doc = replay.getUser(user.userId);
    const actual = doc && {
      status: doc.status,
      identities: doc.connections.map(identityKeyOf).sort(),
      mergedInto: doc.mergedInto,
    };
    const wanted = {
      status: user.status,
      identities: user.identities.map(identityKeyOf).sort(),
      mergedInto: user.mergedInto,
    };
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
      differences.push(
        `user ${user.userId}: the client expects ${JSON.stringify(wanted)}, ` +
          `the log shows ${JSON.stringify(actual)}`,
      );
    }
  }
  return differences;
};

/** Every user and identity the log has ever named. */
export const namedInLog = (log: StoredEvent[]) => {
  const users = new Set<string>();
  const identities = new Map<string, IdentityKey>();
  for (const event of log) {
    const userId = userIdOf(event);
    if (userId) users.add(userId);
    const identity = identityOf(event);
    if (identity) identities.set(identityKeyOf(identity), identity);
  }
  return { users: [...users], identities: [...identities.values()] };
};

/**
 * Half-done work that nobody finished: an identity whose guard names a user that does not
 * show it as a connection (a claim never linked, or never released after an unlink, a
 * merge or an erasure). Also any identity that two active users show as theirs.
 */
export const unsettledClaims = (log: StoredEvent[], replay: Replay): string[] => {
  const problems: string[] = [];
  const { users, identities } = namedInLog(log);
  const shownBy = new Map<string, string[]>();
  for (const userId of users) {
    const doc = replay.getUser(userId);
    if (doc?.status !== 'active') continue;
    for (const connection of doc.connections) {
      const key = identityKeyOf(connection);
      shownBy.set(key, [...(shownBy.get(key) ?? []), userId]);
    }
  }
  for (const identity of identities) {
    const key = identityKeyOf(identity);
    const guard = replay.getIdentity(identity);
    const holders = shownBy.get(key) ?? [];
    if (holders.length > 1) problems.push(`${key} is held by ${holders.join(' and ')}`);
    if (guard?.status !== 'linked' || guard.userId === null) continue;
    const owner = replay.getUser(guard.userId);
    const linked = owner?.connections.some(
      (connection) =>
        identityKeyOf(connection) === key &&
        connection.claimRevision === guard.claimRevision,
    );
    if (owner?.status !== 'active' || !linked) {
      problems.push(
        `${key} is claimed by ${guard.userId} (${owner?.status ?? 'no user'}), ` +
          'which does not show it as a connection',
      );
    }
  }
  return problems;
};

// (Password hashes never leave the service: the export shows them redacted.)
const PERSONAL_FIELDS = new Set(['username', 'displayName', 'email']);

/**
 * Erasure finished: the log shows no personal data of an erased user in the clear. (The
 * user's key is destroyed after `UserErased` is appended; a kill in between must not
 * leave the person readable.)
 */
export const unerasedPersonalData = (log: StoredEvent[]): string[] => {
  const erased = new Set(
    log.filter((event) => event.type === 'UserErased').map((event) => event.stream),
  );
  const problems: string[] = [];
  const look = (value: unknown, path: string, event: StoredEvent): void => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, field] of Object.entries(value)) {
      if (PERSONAL_FIELDS.has(key) && typeof field === 'string' && field !== '[erased]') {
        problems.push(
          `${event.stream}@${event.revision} ${event.type}: ${path}${key} is readable`,
        );
      } else {
        look(field, `${path}${key}.`, event);
      }
    }
  };
  for (const event of log) {
    if (erased.has(event.stream)) look(event.data, '', event);
  }
  return problems;
};

/**
 * The read model against a fresh replay of the exported log, for every user and identity,
 * each query made to wait for the whole log (`minPosition`).
 */
export const readModelDifferences = async (
  url: string,
  token: string,
  log: StoredEvent[],
  replay: Replay,
): Promise<string[]> => {
  const api = apiClient(url);
  const head = log.at(-1)?.position ?? 0n;
  const { users, identities } = namedInLog(log);
  const differences: string[] = [];
  const compare = (what: string, status: number, actual: unknown, expected: unknown) => {
    const same =
      status === (expected === null ? 404 : 200) &&
      (expected === null || JSON.stringify(actual) === JSON.stringify(expected));
    if (!same) {
      differences.push(
        `${what}: the read model answers ${status} ${JSON.stringify(actual)}, ` +
          `a replay ${JSON.stringify(expected)}`,
      );
    }
  };
  await inPool(users, async (userId) => {
    const reply = await api.get(`/api/users/${userId}?minPosition=${head}`, { token });
    const doc = replay.getUser(userId);
    compare(`user ${userId}`, reply.status, reply.body, doc && userView(doc));
  });
  await inPool(identities, async (identity) => {
    const query = new URLSearchParams({ ...identity, minPosition: String(head) });
    const reply = await api.get(`/api/identities?${query}`, { token });
    const doc = replay.getIdentity(identity);
    compare(identityKeyOf(identity), reply.status, reply.body, doc && identityView(doc));
  });
  return differences;
};

/**
 * Nobody is locked out: every active user still takes commands (linking an identity it
 * holds is a no-op that must succeed), and each of its identities resolves to it.
 */
export const lockedOut = async (
  url: string,
  token: string,
  log: StoredEvent[],
  replay: Replay,
): Promise<string[]> => {
  const api = apiClient(url);
  const problems: string[] = [];
  const active = namedInLog(log)
    .users.map((userId) => replay.getUser(userId))
    .filter((doc) => doc?.status === 'active');
  await inPool(active, async (doc) => {
    if (!doc!.hasPassword && doc!.connections.length === 0) {
      problems.push(`user ${doc!.userId} has no way to sign in`);
      return;
    }
    for (const { provider, subject } of doc!.connections) {
      const body = { userId: doc!.userId, provider, subject };
      const reply = await api.command('link-provider', body, { token });
      if (reply.status !== 200 || reply.body.events.length > 0) {
        problems.push(
          `user ${doc!.userId}, ${provider}:${subject}: link-provider answered ` +
            `${reply.status} ${JSON.stringify(reply.body)}`,
        );
      }
      const query = new URLSearchParams({ provider, subject });
      const identity = await api.get(`/api/identities?${query}`, { token });
      if (identity.body.userId !== doc!.userId) {
        problems.push(
          `${provider}:${subject} resolves to ${JSON.stringify(identity.body)}, ` +
            `not to ${doc!.userId}`,
        );
      }
    }
  });
  return problems;
};

/**
 * Every acknowledged command sent once more with its key and body gets its first answer
 * again, from the idempotency records that lived through the kills.
 */
export const idempotencyDifferences = async (
  url: string,
  token: string,
  acknowledged: SentCommand[],
): Promise<string[]> => {
  const api = apiClient(url);
  const differences: string[] = [];
  await inPool(acknowledged, async (command) => {
    const reply = await api.command(command.name, command.body, {
      token,
      headers: { 'idempotency-key': command.key },
    });
    const same =
      reply.status === command.status &&
      JSON.stringify(reply.body) === JSON.stringify(command.answer) &&
      reply.headers.get('idempotent-replayed') === 'true';
    if (!same) {
      differences.push(
        `#${command.seq} ${command.name}: first ${command.status} ` +
          `${JSON.stringify(command.answer)}, again ${reply.status} ` +
          `${JSON.stringify(reply.body)}`,
      );
    }
  });
  return differences;
};

/** Runs `work` over the items, a few at a time, as a polite client would. */
const inPool = async <T>(items: T[], work: (item: T) => Promise<void>): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: 6 }, worker));
};
