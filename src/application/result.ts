import { setTimeout as sleep } from 'node:timers/promises';
import { AccountLinkingError } from '../domain/errors.js';
import { streams } from '../domain/values.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { loadUser, ownEvents, type Execution } from './execution.js';

/** The answer to a command, as the HTTP contract shows it. */
export interface CommandResult {
  userId: string;
  /** True when this command created the user. */
  created: boolean;
  /** Revision of the last event of the user's stream that this answer speaks of. */
  revision: number;
  /** Log position to pass as `minPosition` to read this command's effect. */
  position: bigint;
  /** Types of the events this command appended, in log order; empty for a no-op. */
  events: string[];
}

/**
 * Builds the answer from the events this command appended, now or in an earlier attempt,
 * so a retried command answers the same. A no-op answers with the user as it stands and
 * the log's head as its position.
 */
export const resultFor = async (
  execution: Execution,
  userId: string,
  created: boolean,
): Promise<CommandResult> => {
  const own = ownEvents(execution);
  const userStream = streams.user(userId);
  const ownOnUser = own.filter((event) => event.stream === userStream);
  if (ownOnUser.length > 0 || own.length > 0) {
    const last = own.at(-1)!;
    const current =
      ownOnUser.at(-1)?.revision ?? (await loadUser(execution, userId)).state.revision;
    return {
      userId,
      created,
      revision: current,
      position: last.position,
      events: own.map((e) => e.type),
    };
  }
  // A no-op: the state it found may have been made by events on other streams after the
  // user's last one (an erasure's released identities), so the answer's position is the
  // log's head, which covers them all.
  const user = await loadUser(execution, userId);
  const head = await execution.services.store.headPosition();
  const position = user.position ?? 0n;
  return {
    userId,
    created,
    revision: user.state.revision,
    position: head !== null && head > position ? head : position,
    events: [],
  };
};

/**
 * Runs a decide-and-append step again after a revision conflict, a bounded number of
 * times with a little random backoff so that racing commands spread out.
 */
export const retryOnConflict = async <T>(
  execution: Execution,
  step: (attempt: number) => Promise<T>,
): Promise<T> => {
  const { maxAttempts, logger } = execution.services;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    try {
      return await step(attempt);
    } catch (error) {
      if (!isWrongExpectedRevision(error)) throw error;
      logger.debug(
        { stream: error.stream, attempt },
        'revision conflict, deciding again',
      );
      await sleep(Math.floor(Math.random() * 2 ** Math.min(attempt, 6)));
    }
  }
  throw new AccountLinkingError(
    'unavailable',
    'the user is being changed by many requests at once; try again',
  );
};
