/**
 * Failures as EventStoreDB puts them on the wire. Calls fail with a gRPC status whose trailers
 * carry an `exception` header the client switches on; BatchAppend instead answers each write
 * with a `google.rpc.Status` whose details are an `Any` the client unpacks.
 */
import { Metadata, status, type ServerErrorResponse } from '@grpc/grpc-js';
import type { Code } from '@eventstore/db-client/generated/code_pb.js';
import type { Status } from '@eventstore/db-client/generated/status_pb.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type ExpectedVersion } from './commitCheck.js';
import { Any, GoogleEmpty, codePb, sharedPb, statusPb } from './protocol.js';
import { streamIdentifierOf } from './wireValues.js';

/** A stream was deleted: its reads and writes fail with this. */
export const streamDeletedError = (stream: string): ServerErrorResponse =>
  callError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
    exception: 'stream-deleted',
    'stream-name': stream,
  });

/** A delete or tombstone found another version than expected (appends say it otherwise). */
export const wrongExpectedVersionError = (
  stream: string,
  expected: ExpectedVersion,
  actual: bigint,
): ServerErrorResponse =>
  callError(
    status.FAILED_PRECONDITION,
    `Delete failed due to WrongExpectedVersion. Stream: ${stream}, ` +
      `Expected version: ${expected}, Actual version: ${actual}`,
    {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': String(expected),
      'actual-version': String(actual),
    },
  );

/** What a client sees of a connection that broke under an open call. */
export const connectionDroppedError = (): ServerErrorResponse =>
  callError(status.UNAVAILABLE, 'Connection dropped by the EventStoreDB double', {});

export const invalidArgumentError = (message: string): ServerErrorResponse =>
  callError(status.INVALID_ARGUMENT, message, {});

/** BatchAppend's answer to a write whose expected version did not hold. */
export const wrongExpectedVersionStatus = (
  currentRevision: bigint,
  expected: ExpectedVersion,
): Status => {
  const details = new sharedPb.WrongExpectedVersion();
  if (currentRevision < 0n) details.setCurrentNoStream(new GoogleEmpty());
  else details.setCurrentStreamRevision(String(currentRevision));
  if (expected === ANY) details.setExpectedAny(new GoogleEmpty());
  else if (expected === NO_STREAM) details.setExpectedNoStream(new GoogleEmpty());
  else if (expected === STREAM_EXISTS) details.setExpectedStreamExists(new GoogleEmpty());
  else details.setExpectedStreamPosition(String(expected));
  return rpcStatus(
    codePb.Code.ALREADY_EXISTS,
    'WrongExpectedVersion',
    details.serializeBinary(),
    'event_store.client.WrongExpectedVersion',
  );
};

/** BatchAppend's answer to a write to a deleted stream. */
export const streamDeletedStatus = (stream: string): Status => {
  const details = new sharedPb.StreamDeleted();
  details.setStreamIdentifier(streamIdentifierOf(stream));
  return rpcStatus(
    codePb.Code.NOT_FOUND,
    'StreamDeleted',
    details.serializeBinary(),
    'event_store.client.StreamDeleted',
  );
};

/** BatchAppend's answer to a malformed write. */
export const badRequestStatus = (message: string): Status => {
  const details = new sharedPb.BadRequest();
  details.setMessage(message);
  return rpcStatus(
    codePb.Code.INVALID_ARGUMENT,
    'BadRequest',
    details.serializeBinary(),
    'event_store.client.BadRequest',
  );
};

const callError = (
  code: status,
  details: string,
  headers: Record<string, string>,
): ServerErrorResponse => {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
};

const rpcStatus = (
  code: Code,
  message: string,
  details: Uint8Array,
  typeName: string,
): Status => {
  const packed = new Any();
  // Packs as `type.googleapis.com/<typeName>`, the URL the client's unpack expects.
  packed.pack(details, typeName);
  const result = new statusPb.Status();
  result.setCode(code);
  result.setMessage(message);
  result.setDetails(packed);
  return result;
};
