/**
 * Values as they travel: stream names as UTF-8 bytes, and ids as a `UUID` message holding
 * either the text form or two signed 64-bit halves. The server keeps ids as GUIDs, so it
 * answers in lowercase text whatever case it was sent, and refuses anything else.
 */
import type {
  StreamIdentifier,
  UUID,
} from '@eventstore/db-client/generated/shared_pb.js';
import { sharedPb } from './protocol.js';

/** A request the server cannot make sense of, such as an event id that is not a UUID. */
export class MalformedRequestError extends Error {}

export const streamNameOf = (identifier: StreamIdentifier | undefined): string => {
  if (identifier === undefined) throw new MalformedRequestError('No stream identifier');
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
};

export const streamIdentifierOf = (stream: string): StreamIdentifier => {
  const identifier = new sharedPb.StreamIdentifier();
  return identifier.setStreamName(Buffer.from(stream, 'utf8'));
};

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const uuidFromWire = (uuid: UUID | undefined): string => {
  if (uuid?.hasStructured()) {
    const halves = uuid.getStructured();
    const bytes = Buffer.alloc(16);
    bytes.writeBigInt64BE(BigInt(halves?.getMostSignificantBits() ?? '0'), 0);
    bytes.writeBigInt64BE(BigInt(halves?.getLeastSignificantBits() ?? '0'), 8);
    return textOf(bytes);
  }
  const text = uuid?.getString() ?? '';
  if (!UUID_TEXT.test(text))
    throw new MalformedRequestError(`'${text}' is not a valid UUID`);
  return text.toLowerCase();
};

export const uuidToWire = (id: string, structured: boolean): UUID => {
  const uuid = new sharedPb.UUID();
  if (!structured) return uuid.setString(id);
  const bytes = Buffer.from(id.replaceAll('-', ''), 'hex');
  const halves = new sharedPb.UUID.Structured();
  halves.setMostSignificantBits(bytes.readBigInt64BE(0).toString());
  halves.setLeastSignificantBits(bytes.readBigInt64BE(8).toString());
  return uuid.setStructured(halves);
};

const textOf = (bytes: Buffer): string => {
  const hex = bytes.toString('hex');
  const groups = [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
  ];
  return [...groups, hex.slice(20)].join('-');
};
