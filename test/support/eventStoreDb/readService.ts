/**
 * `Streams/Read`, the one server-streaming call behind reading a stream, reading `$all` and
 * subscribing to either. A read sends its events and ends; a missing stream is a message,
 * a deleted one a FAILED_PRECONDITION status; a subscription stays open until cancelled.
 */
import type { handleServerStreamingCall } from '@grpc/grpc-js';
import type { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb.js';
import { allFilterOf } from './eventFilter.js';
import type { EventLog } from './eventLog.js';
import { streamsPb } from './protocol.js';
import { fail, finish, send, whenClosed, type ReadCall } from './readCall.js';
import { eventResponse, streamNotFoundResponse } from './readResponses.js';
import { readAll, readStream, type AllStart, type StreamStart } from './reads.js';
import { invalidArgumentError, streamDeletedError } from './rpcErrors.js';
import { streamState } from './streamState.js';
import { subscribeToAll, subscribeToStream } from './subscriptions.js';
import { MalformedRequestError, streamNameOf } from './wireValues.js';

const { Options } = streamsPb.ReadReq;

/** Serves Read calls, keeping every open one in `openCalls` until it is over. */
export const createReadHandler =
  (
    log: EventLog,
    openCalls: Set<ReadCall>,
  ): handleServerStreamingCall<ReadReq, ReadResp> =>
  (call) => {
    openCalls.add(call);
    whenClosed(call, () => openCalls.delete(call));
    try {
      serve(log, call);
    } catch (error) {
      if (!(error instanceof MalformedRequestError)) throw error;
      fail(call, invalidArgumentError(error.message));
    }
  };

const serve = (log: EventLog, call: ReadCall) => {
  const options = call.request.getOptions();
  if (options === undefined) throw new MalformedRequestError('No read options');
  const structuredIds = options.getUuidOption()?.hasStructured() ?? false;
  const subscription =
    options.getCountOptionCase() === Options.CountOptionCase.SUBSCRIPTION;
  const range = {
    forwards: options.getReadDirection() === Options.ReadDirection.FORWARDS,
    count: BigInt(options.getCount()),
  };

  if (options.getStreamOptionCase() === Options.StreamOptionCase.ALL) {
    const from = allStartOf(options);
    const filter = allFilterOf(options);
    if (subscription) return subscribeToAll(log, call, from, filter, structuredIds);
    const events = readAll(log.events, filter.accepts, { ...range, from });
    events.forEach((event) => send(call, eventResponse(event, structuredIds)));
    return finish(call);
  }

  const streamOptions = options.getStream();
  const stream = streamNameOf(streamOptions?.getStreamIdentifier());
  const from = streamStartOf(streamOptions);
  if (subscription) return subscribeToStream(log, call, stream, from, structuredIds);

  const state = streamState(log, stream);
  if (state.tombstoned) return fail(call, streamDeletedError(stream));
  if (state.softDeleted || state.lastRevision < 0n) {
    send(call, streamNotFoundResponse(stream));
    return finish(call);
  }
  const events = readStream(log.streamEvents(stream), state, { ...range, from });
  events.forEach((event) => send(call, eventResponse(event, structuredIds)));
  finish(call);
};

const streamStartOf = (
  options: ReadReq.Options.StreamOptions | undefined,
): StreamStart => {
  switch (options?.getRevisionOptionCase()) {
    case Options.StreamOptions.RevisionOptionCase.REVISION:
      return BigInt(options.getRevision());
    case Options.StreamOptions.RevisionOptionCase.END:
      return 'end';
    default:
      return 'start';
  }
};

const allStartOf = (options: ReadReq.Options): AllStart => {
  const all = options.getAll();
  switch (all?.getAllOptionCase()) {
    case Options.AllOptions.AllOptionCase.POSITION: {
      const position = all.getPosition();
      return {
        commit: BigInt(position?.getCommitPosition() ?? '0'),
        prepare: BigInt(position?.getPreparePosition() ?? '0'),
      };
    }
    case Options.AllOptions.AllOptionCase.END:
      return 'end';
    default:
      return 'start';
  }
};
