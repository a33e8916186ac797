/**
 * Writing to a `Streams/Read` call that the client may cancel, or the double may drop, at
 * any moment: once a call is over, whatever else would be sent is dropped.
 */
import type { ServerErrorResponse, ServerWritableStream } from '@grpc/grpc-js';
import type { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb.js';

export type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

const isOpen = (call: ReadCall): boolean => call.writable && !call.cancelled;

export const send = (call: ReadCall, response: ReadResp): void => {
  if (isOpen(call)) call.write(response);
};

/** Ends the call with status OK once what was sent has gone. */
export const finish = (call: ReadCall): void => {
  if (isOpen(call)) call.end();
};

/** Ends the call with an error status (and its trailers), after what was sent. */
export const fail = (call: ReadCall, error: ServerErrorResponse): void => {
  // grpc-js turns an 'error' event on a server stream into the call's final status.
  if (isOpen(call)) call.emit('error', error);
};

/** Runs `cleanup` once the call is over, however it ended. */
export const whenClosed = (call: ReadCall, cleanup: () => void): void => {
  call.once('close', cleanup);
};
