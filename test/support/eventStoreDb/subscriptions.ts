/**
 * Catch-up subscriptions to a stream or to `$all`, in the order the server speaks:
 * confirmation, the history after the start (exclusive), `caught_up`, then live events.
 * History is sent and live following begins in one synchronous step, so no event written
 * meanwhile can be missed or sent twice.
 */
import { randomUUID } from 'node:crypto';
import type { AllFilter } from './eventFilter.js';
import type { EventLog, RecordedEvent } from './eventLog.js';
import { fail, send, whenClosed, type ReadCall } from './readCall.js';
import { isAfter, type AllStart, type LogPosition, type StreamStart } from './reads.js';
import {
  caughtUpResponse,
  checkpointResponse,
  confirmationResponse,
  eventResponse,
} from './readResponses.js';
import { streamDeletedError } from './rpcErrors.js';
import { streamState } from './streamState.js';

export const subscribeToStream = (
  log: EventLog,
  call: ReadCall,
  stream: string,
  from: StreamStart,
  structuredIds: boolean,
): void => {
  send(call, confirmationResponse(randomUUID()));
  const state = streamState(log, stream);
  if (state.tombstoned) return fail(call, streamDeletedError(stream));

  // The last revision sent, or the one to go on from.
  let checkpoint = from === 'start' ? -1n : from === 'end' ? state.lastRevision : from;
  const deliver = (event: RecordedEvent) => {
    send(call, eventResponse(event, structuredIds));
    checkpoint = event.revision;
    // A tombstone written while subscribed is delivered, then ends the subscription.
    if (event.type === '$streamDeleted') fail(call, streamDeletedError(stream));
  };

  // A soft-deleted stream has no history to read; it may come back with new events.
  const history = state.softDeleted ? [] : log.streamEvents(stream);
  history
    .filter(
      (event) => event.revision > checkpoint && event.revision >= state.truncateBefore,
    )
    .forEach(deliver);
  send(call, caughtUpResponse());
  const unfollow = log.follow((event) => {
    if (event.stream === stream && event.revision > checkpoint) deliver(event);
  });
  whenClosed(call, unfollow);
};

export const subscribeToAll = (
  log: EventLog,
  call: ReadCall,
  from: AllStart,
  filter: AllFilter,
  structuredIds: boolean,
): void => {
  send(call, confirmationResponse(randomUUID()));
  const start = startAfter(log, from);
  const checkpoints = checkpointCounter(call, filter);
  const history = log.events.filter(
    (event) => start === null || isAfter(event.position, start),
  );
  const examine = (event: RecordedEvent) => {
    if (filter.accepts(event)) send(call, eventResponse(event, structuredIds));
    checkpoints.examined(event.position);
  };
  history.forEach(examine);
  // Going live, a filtered subscription always reports how far it has looked.
  const lastExamined = history.at(-1);
  if (lastExamined !== undefined) checkpoints.reached(lastExamined.position);

  send(call, caughtUpResponse());
  checkpoints.restart();
  const unfollow = log.follow(examine);
  whenClosed(call, unfollow);
};

/** The position history starts after, exclusive; null for the very beginning. */
const startAfter = (log: EventLog, from: AllStart): LogPosition | null => {
  if (from === 'start') return null;
  if (from !== 'end') return from;
  const last = log.events.at(-1)?.position;
  return last === undefined ? null : { commit: last, prepare: last };
};

/**
 * Reports a checkpoint every `filter.checkpointEvery` events examined, whether they matched
 * the filter or not, and never the same position twice. Unfiltered subscriptions get none.
 */
const checkpointCounter = (call: ReadCall, { checkpointEvery }: AllFilter) => {
  let examined = 0;
  let lastReported: bigint | null = null;
  const reached = (position: bigint) => {
    if (checkpointEvery === null || position === lastReported) return;
    send(call, checkpointResponse(position));
    lastReported = position;
  };
  return {
    reached,
    examined: (position: bigint) => {
      examined += 1;
      if (examined !== checkpointEvery) return;
      examined = 0;
      reached(position);
    },
    /** The server counts live events afresh from the moment it follows the log. */
    restart: () => {
      examined = 0;
    },
  };
};
