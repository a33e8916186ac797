/**
 * The three writes EventStoreDB offers on a stream (append, soft delete, tombstone), applied
 * to the log after the commit check, with the records the server writes alongside them.
 */
import { randomUUID } from 'node:crypto';
import { checkCommit, type ExpectedVersion } from './commitCheck.js';
import type { EventLog, ProposedEvent, RecordedEvent } from './eventLog.js';
import {
  DELETED_STREAM,
  SOFT_DELETED_METADATA,
  metastreamOf,
  streamState,
  undeletedMetadata,
} from './streamState.js';

const EMPTY = new Uint8Array();

export type WriteOutcome =
  /** `lastRevision` is -1 when the stream still has no event; `position` is the last record's. */
  | { kind: 'written'; lastRevision: bigint; position: bigint }
  | { kind: 'wrong-expected-version'; currentRevision: bigint }
  | { kind: 'stream-deleted' };

export const appendEvents = (
  log: EventLog,
  stream: string,
  expected: ExpectedVersion,
  events: ProposedEvent[],
): WriteOutcome => {
  const decision = checkCommit(
    log,
    stream,
    expected,
    events.map((event) => event.id),
  );
  switch (decision.kind) {
    case 'idempotent':
      return written(decision.last.revision, decision.last.position);
    case 'ok': {
      const first = decision.currentRevision + 1n;
      const recorded = log.write(stream, first, events);
      const last = recorded.at(-1);
      if (last === undefined)
        return written(decision.currentRevision, log.writeEmptyRecord());
      const undeleted = decision.softDeleted
        ? undeletedMetadata(log, stream, first)
        : null;
      if (undeleted !== null) writeMetadata(log, stream, undeleted);
      return written(last.revision, last.position);
    }
    default:
      return decision;
  }
};

/**
 * Soft delete: the stream's metadata gets `$tb` = 2^63-1, so reads find no stream, while the
 * events stay in `$all` and a later append brings the stream back with revisions going on.
 */
export const softDelete = (
  log: EventLog,
  stream: string,
  expected: ExpectedVersion,
): WriteOutcome => {
  const decision = checkCommit(log, stream, expected, [randomUUID()]);
  if (decision.kind === 'wrong-expected-version' || decision.kind === 'stream-deleted') {
    return decision;
  }

  // Deleting what never existed fails even with `any`.
  const state = streamState(log, stream);
  if (state.lastRevision < 0n && !state.hasMetadata) {
    return { kind: 'wrong-expected-version', currentRevision: -1n };
  }
  const marker = writeMetadata(log, stream, SOFT_DELETED_METADATA);
  return written(state.lastRevision, marker.position);
};

/** Tombstone (hard delete): a `$streamDeleted` event at revision 2^63-1 ends the stream. */
export const tombstone = (
  log: EventLog,
  stream: string,
  expected: ExpectedVersion,
): WriteOutcome => {
  const decision = checkCommit(log, stream, expected, [randomUUID()]);
  if (decision.kind === 'wrong-expected-version' || decision.kind === 'stream-deleted') {
    return decision;
  }

  const marker = writeOne(log, stream, DELETED_STREAM, {
    id: randomUUID(),
    type: '$streamDeleted',
    isJson: false,
    data: EMPTY,
    metadata: EMPTY,
  });
  return written(DELETED_STREAM, marker.position);
};

const written = (lastRevision: bigint, position: bigint): WriteOutcome => ({
  kind: 'written',
  lastRevision,
  position,
});

/** Appends a `$metadata` event to the stream's metadata stream. */
const writeMetadata = (log: EventLog, stream: string, json: string): RecordedEvent => {
  const metastream = metastreamOf(stream);
  return writeOne(log, metastream, streamState(log, metastream).lastRevision + 1n, {
    id: randomUUID(),
    type: '$metadata',
    isJson: true,
    data: Buffer.from(json, 'utf8'),
    metadata: EMPTY,
  });
};

const writeOne = (
  log: EventLog,
  stream: string,
  revision: bigint,
  event: ProposedEvent,
): RecordedEvent => {
  const [recorded] = log.write(stream, revision, [event]);
  if (recorded === undefined) throw new Error(`The log did not record ${event.type}`);
  return recorded;
};
