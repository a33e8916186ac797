/**
 * `Streams/Delete` (soft delete) and `Streams/Tombstone` (hard delete). Both answer with the
 * position of the record they wrote, and fail as gRPC statuses whose headers the client
 * turns into `WrongExpectedVersionError` or `StreamDeletedError`.
 */
import type { handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type {
  DeleteReq,
  DeleteResp,
  TombstoneReq,
  TombstoneResp,
} from '@eventstore/db-client/generated/streams_pb.js';
import type { ExpectedVersion } from './commitCheck.js';
import type { EventLog } from './eventLog.js';
import { streamsPb } from './protocol.js';
import {
  invalidArgumentError,
  streamDeletedError,
  wrongExpectedVersionError,
} from './rpcErrors.js';
import { expectedVersionOf } from './writeRequests.js';
import { softDelete, tombstone, type WriteOutcome } from './writes.js';
import { MalformedRequestError, streamNameOf } from './wireValues.js';

type DeleteOptions = DeleteReq.Options | TombstoneReq.Options;

export const createDeleteHandler =
  (log: EventLog): handleUnaryCall<DeleteReq, DeleteResp> =>
  (call, callback) =>
    handle(
      call.request.getOptions(),
      callback,
      (stream, expected) => softDelete(log, stream, expected),
      (at) =>
        new streamsPb.DeleteResp().setPosition(
          positionAt(new streamsPb.DeleteResp.Position(), at),
        ),
    );

export const createTombstoneHandler =
  (log: EventLog): handleUnaryCall<TombstoneReq, TombstoneResp> =>
  (call, callback) =>
    handle(
      call.request.getOptions(),
      callback,
      (stream, expected) => tombstone(log, stream, expected),
      (at) =>
        new streamsPb.TombstoneResp().setPosition(
          positionAt(new streamsPb.TombstoneResp.Position(), at),
        ),
    );

/** Reads the options, runs the deletion and answers with its position or its failure. */
const handle = <Response>(
  options: DeleteOptions | undefined,
  callback: sendUnaryData<Response>,
  write: (stream: string, expected: ExpectedVersion) => WriteOutcome,
  respond: (position: bigint) => Response,
) => {
  try {
    if (options === undefined) throw new MalformedRequestError('No options');
    const stream = streamNameOf(options.getStreamIdentifier());
    const expected = expectedVersionOf(
      options.getExpectedStreamRevisionCase(),
      options.getRevision(),
    );
    const outcome = write(stream, expected);
    switch (outcome.kind) {
      case 'written':
        return callback(null, respond(outcome.position));
      case 'stream-deleted':
        return callback(streamDeletedError(stream));
      case 'wrong-expected-version':
        return callback(
          wrongExpectedVersionError(stream, expected, outcome.currentRevision),
        );
    }
  } catch (error) {
    if (!(error instanceof MalformedRequestError)) throw error;
    callback(invalidArgumentError(error.message));
  }
};

interface Position<Self> {
  setCommitPosition(value: string): Self;
  setPreparePosition(value: string): Self;
}

/** Deletes commit themselves, so both positions are the record's own. */
const positionAt = <Self extends Position<Self>>(position: Self, at: bigint): Self =>
  position.setCommitPosition(String(at)).setPreparePosition(String(at));
