/**
 * EventStoreDB's decision on a write before anything is written: does the expected version
 * hold, is this a retry of a write already done, or is the stream deleted. Same rules for
 * appends, deletes and tombstones; pure apart from reading the log.
 */
import type { EventLog, RecordedEvent } from './eventLog.js';
import { streamState, type StreamState } from './streamState.js';

/**
 * An expected version as the server encodes it: a revision, or one of these markers. The
 * markers also travel in the `expected-version` header of delete errors.
 */
export type ExpectedVersion = bigint;
export const NO_STREAM = -1n;
export const ANY = -2n;
export const STREAM_EXISTS = -4n;

export type CommitDecision =
  | { kind: 'ok'; currentRevision: bigint; softDeleted: boolean }
  /** The same write was already done: answer with its result and write nothing. */
  | { kind: 'idempotent'; last: RecordedEvent }
  /** `currentRevision` is -1 when the stream has no events. */
  | { kind: 'wrong-expected-version'; currentRevision: bigint }
  | { kind: 'stream-deleted' };

/**
 * Decides a write of events with `ids` to `stream`. A retry is recognised by its event ids
 * within the same stream only: with `any` or `stream_exists`, wherever they are in the stream;
 * with an exact expectation, at the revisions right after it. Event ids are no unique index:
 * the same id may be written to another stream, or again to this one at the next revision.
 */
export const checkCommit = (
  log: EventLog,
  stream: string,
  expected: ExpectedVersion,
  ids: readonly string[],
): CommitDecision => {
  const state = streamState(log, stream);
  const current = state.lastRevision;
  const wrong = { kind: 'wrong-expected-version', currentRevision: current } as const;

  if (state.tombstoned) return { kind: 'stream-deleted' };
  if (expected === STREAM_EXISTS) {
    if (state.softDeleted) return { kind: 'stream-deleted' };
    // A stream with metadata but no events counts as existing.
    if (current < 0n && !state.hasMetadata) return wrong;
  }

  if (expected === ANY || expected === STREAM_EXISTS) {
    const [first, ...rest] = ids.map((id) => log.findById(stream, id));
    if (first === undefined) {
      return { kind: 'ok', currentRevision: current, softDeleted: state.softDeleted };
    }
    // Part of the events already written and part not: not a retry, and not safe to write.
    if (rest.some((event) => event === undefined)) return wrong;
    return { kind: 'idempotent', last: rest.at(-1) ?? first };
  }

  if (expected < current) return retryAfter(log, stream, expected, ids, state);
  if (expected > current) return wrong;
  return { kind: 'ok', currentRevision: current, softDeleted: state.softDeleted };
};

/** An exact (or no-stream) expectation behind the stream's end: a retry, or a conflict. */
const retryAfter = (
  log: EventLog,
  stream: string,
  expected: ExpectedVersion,
  ids: readonly string[],
  { lastRevision, softDeleted }: StreamState,
): CommitDecision => {
  const wrong = {
    kind: 'wrong-expected-version',
    currentRevision: lastRevision,
  } as const;
  const events = log.streamEvents(stream);
  const matches = ids.map((id, i) => {
    const event = events[Number(expected) + 1 + i];
    return event?.id === id ? event : undefined;
  });
  const [first] = matches;
  if (first === undefined) {
    // Recreating a soft-deleted stream with `no_stream` is allowed; revisions go on.
    return expected === NO_STREAM && softDeleted && ids.length > 0
      ? { kind: 'ok', currentRevision: lastRevision, softDeleted }
      : wrong;
  }
  const last = matches.at(-1);
  return matches.every((match) => match !== undefined) && last !== undefined
    ? { kind: 'idempotent', last }
    : wrong;
};
