/**
 * `Streams/Append` and `Streams/BatchAppend`. Both write through the same commit check; they
 * differ in how they say the outcome. Append fails a wrong expected version inside its
 * response and a deleted stream as a gRPC status; BatchAppend answers every write on its one
 * long-lived stream with a success or a `google.rpc.Status`, echoing the correlation id.
 */
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  ServerDuplexStream,
} from '@grpc/grpc-js';
import type {
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
} from '@eventstore/db-client/generated/streams_pb.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type ExpectedVersion } from './commitCheck.js';
import type { EventLog, ProposedEvent } from './eventLog.js';
import { GoogleEmpty, sharedPb, streamsPb } from './protocol.js';
import {
  badRequestStatus,
  invalidArgumentError,
  streamDeletedError,
  streamDeletedStatus,
  wrongExpectedVersionStatus,
} from './rpcErrors.js';
import { expectedVersionOf, proposedEventOf } from './writeRequests.js';
import { appendEvents, type WriteOutcome } from './writes.js';
import {
  MalformedRequestError,
  streamIdentifierOf,
  streamNameOf,
  uuidFromWire,
} from './wireValues.js';

export const createAppendHandler =
  (log: EventLog): handleClientStreamingCall<AppendReq, AppendResp> =>
  (call, callback) => {
    // The client sends the options first, then one message per event, then ends.
    const requests: AppendReq[] = [];
    call.on('data', (request: AppendReq) => requests.push(request));
    call.on('end', () => {
      try {
        const [header, ...messages] = requests;
        const options = header?.getOptions();
        if (options === undefined)
          throw new MalformedRequestError('Options must come first');
        const stream = streamNameOf(options.getStreamIdentifier());
        const expected = expectedVersionOf(
          options.getExpectedStreamRevisionCase(),
          options.getRevision(),
        );
        const events = messages.map((message) =>
          proposedEventOf(proposedMessage(message)),
        );

        const outcome = appendEvents(log, stream, expected, events);
        if (outcome.kind === 'stream-deleted') callback(streamDeletedError(stream));
        else callback(null, appendResponse(outcome, expected));
      } catch (error) {
        if (!(error instanceof MalformedRequestError)) throw error;
        callback(invalidArgumentError(error.message));
      }
    });
  };

export const createBatchAppendHandler =
  (log: EventLog): handleBidiStreamingCall<BatchAppendReq, BatchAppendResp> =>
  (call) => {
    // Writes may span several requests, tied together by their correlation id.
    const pending = new Map<string, PendingWrite>();
    call.on('data', (request: BatchAppendReq) => {
      const response = receive(log, pending, request);
      if (response !== null) send(call, response);
    });
    call.on('end', () => call.end());
  };

interface PendingWrite {
  stream: string;
  expected: ExpectedVersion;
  events: ProposedEvent[];
}

/** Takes one BatchAppend request in; answers when it completes a write. */
const receive = (
  log: EventLog,
  pending: Map<string, PendingWrite>,
  request: BatchAppendReq,
): BatchAppendResp | null => {
  const options = request.getOptions();
  let key: string | undefined;
  try {
    key = uuidFromWire(request.getCorrelationId());
    if (options !== undefined && !pending.has(key)) {
      pending.set(key, {
        stream: streamNameOf(options.getStreamIdentifier()),
        expected: expectedVersionOf(
          options.getExpectedStreamPositionCase(),
          options.getStreamPosition(),
        ),
        events: [],
      });
    }
    // The server ignores parts of a write it holds no options for.
    const write = pending.get(key);
    if (write === undefined) return null;
    write.events.push(...request.getProposedMessagesList().map(proposedEventOf));
    if (!request.getIsFinal()) return null;

    pending.delete(key);
    const outcome = appendEvents(log, write.stream, write.expected, write.events);
    return batchResponse(request, write.stream, outcome, write.expected);
  } catch (error) {
    if (!(error instanceof MalformedRequestError)) throw error;
    if (key !== undefined) pending.delete(key);
    const stream =
      options?.getStreamIdentifier()?.getStreamName_asU8() ?? new Uint8Array();
    const response = responseTo(request, Buffer.from(stream).toString('utf8'));
    return response.setError(badRequestStatus(error.message));
  }
};

const send = (
  call: ServerDuplexStream<BatchAppendReq, BatchAppendResp>,
  response: BatchAppendResp,
) => {
  if (!call.cancelled && call.writable) call.write(response);
};

const appendResponse = (
  outcome: Exclude<WriteOutcome, { kind: 'stream-deleted' }>,
  expected: ExpectedVersion,
): AppendResp => {
  const response = new streamsPb.AppendResp();
  if (outcome.kind === 'written') {
    const success = new streamsPb.AppendResp.Success();
    if (outcome.lastRevision < 0n) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(String(outcome.lastRevision));
    const position = new streamsPb.AppendResp.Position();
    position.setCommitPosition(String(outcome.position));
    position.setPreparePosition(String(outcome.position));
    return response.setSuccess(success.setPosition(position));
  }

  // The server also fills the deprecated `*_2060` fields for clients of 2020; this client
  // reads only the current ones, so they are left out.
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (outcome.currentRevision < 0n) wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(String(outcome.currentRevision));
  if (expected === ANY) wrong.setExpectedAny(new sharedPb.Empty());
  else if (expected === NO_STREAM) wrong.setExpectedNoStream(new sharedPb.Empty());
  else if (expected === STREAM_EXISTS)
    wrong.setExpectedStreamExists(new sharedPb.Empty());
  else wrong.setExpectedRevision(String(expected));
  return response.setWrongExpectedVersion(wrong);
};

const batchResponse = (
  request: BatchAppendReq,
  stream: string,
  outcome: WriteOutcome,
  expected: ExpectedVersion,
): BatchAppendResp => {
  const response = responseTo(request, stream);
  switch (outcome.kind) {
    case 'written': {
      const success = new streamsPb.BatchAppendResp.Success();
      if (outcome.lastRevision < 0n) success.setNoStream(new GoogleEmpty());
      else success.setCurrentRevision(String(outcome.lastRevision));
      const position = new sharedPb.AllStreamPosition();
      position.setCommitPosition(String(outcome.position));
      position.setPreparePosition(String(outcome.position));
      return response.setSuccess(success.setPosition(position));
    }
    case 'wrong-expected-version':
      return response.setError(
        wrongExpectedVersionStatus(outcome.currentRevision, expected),
      );
    case 'stream-deleted':
      return response.setError(streamDeletedStatus(stream));
  }
};

/** Every answer echoes the write's correlation id and names its stream. */
const responseTo = (request: BatchAppendReq, stream: string): BatchAppendResp => {
  const response = new streamsPb.BatchAppendResp();
  response.setCorrelationId(request.getCorrelationId());
  return response.setStreamIdentifier(streamIdentifierOf(stream));
};

const proposedMessage = (request: AppendReq) => {
  const message = request.getProposedMessage();
  if (message === undefined)
    throw new MalformedRequestError('Only events may follow options');
  return message;
};
