/** What write requests (Append, BatchAppend, Delete, Tombstone) share: expectations, events. */
import type { UUID } from '@eventstore/db-client/generated/shared_pb.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type ExpectedVersion } from './commitCheck.js';
import type { ProposedEvent } from './eventLog.js';
import { streamsPb } from './protocol.js';
import { MalformedRequestError, uuidFromWire } from './wireValues.js';

/** The shape Append and BatchAppend proposed messages have in common. */
interface ProposedMessage {
  getId(): UUID | undefined;
  getMetadataMap(): { get(key: string): string | undefined };
  getData_asU8(): Uint8Array;
  getCustomMetadata_asU8(): Uint8Array;
}

// Append, BatchAppend, Delete and Tombstone options all number their expectation cases alike.
const Expectation = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;

/** The expected version of a write, from its options' expectation case and revision field. */
export const expectedVersionOf = (
  expectation: number,
  revision: string,
): ExpectedVersion => {
  switch (expectation) {
    case Expectation.REVISION:
      return BigInt(revision);
    case Expectation.NO_STREAM:
      return NO_STREAM;
    case Expectation.ANY:
      return ANY;
    case Expectation.STREAM_EXISTS:
      return STREAM_EXISTS;
    default:
      throw new MalformedRequestError('No expected stream revision');
  }
};

export const proposedEventOf = (message: ProposedMessage): ProposedEvent => {
  const metadata = message.getMetadataMap();
  const type = required(metadata.get('type'), 'type');
  const contentType = required(metadata.get('content-type'), 'content-type');
  return {
    id: uuidFromWire(message.getId()),
    type,
    // The server keeps only whether the data is JSON; any other content type reads back as
    // application/octet-stream.
    isJson: contentType === 'application/json',
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
};

const required = (value: string | undefined, property: string): string => {
  if (value === undefined) {
    throw new MalformedRequestError(
      `Required Metadata Property '${property}' is missing`,
    );
  }
  return value;
};
