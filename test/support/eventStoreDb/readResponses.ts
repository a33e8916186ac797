/** The messages a `Streams/Read` call streams back, built from the client's own classes. */
import type { ReadResp } from '@eventstore/db-client/generated/streams_pb.js';
import type { RecordedEvent } from './eventLog.js';
import { streamsPb } from './protocol.js';
import { streamIdentifierOf, uuidToWire } from './wireValues.js';

const { ReadResp: Response } = streamsPb;

/** One event. 64-bit numbers go as decimal strings: a number or bigint would encode as 0. */
export const eventResponse = (event: RecordedEvent, structuredIds: boolean): ReadResp => {
  const recorded = new Response.ReadEvent.RecordedEvent();
  recorded.setId(uuidToWire(event.id, structuredIds));
  recorded.setStreamIdentifier(streamIdentifierOf(event.stream));
  recorded.setStreamRevision(String(event.revision));
  recorded.setCommitPosition(String(event.position));
  recorded.setPreparePosition(String(event.position));
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('created', String(event.created))
    .set('content-type', event.isJson ? 'application/json' : 'application/octet-stream');
  recorded.setData(event.data);
  recorded.setCustomMetadata(event.metadata);

  const read = new Response.ReadEvent();
  read.setEvent(recorded);
  read.setCommitPosition(String(event.position));
  return new Response().setEvent(read);
};

export const confirmationResponse = (subscriptionId: string): ReadResp =>
  new Response().setConfirmation(
    new Response.SubscriptionConfirmation().setSubscriptionId(subscriptionId),
  );

/** Sent by servers from 23.10 on when a subscription has read all history. */
export const caughtUpResponse = (): ReadResp =>
  new Response().setCaughtUp(new Response.CaughtUp());

export const checkpointResponse = (position: bigint): ReadResp =>
  new Response().setCheckpoint(
    new Response.Checkpoint()
      .setCommitPosition(String(position))
      .setPreparePosition(String(position)),
  );

export const streamNotFoundResponse = (stream: string): ReadResp =>
  new Response().setStreamNotFound(
    new Response.StreamNotFound().setStreamIdentifier(streamIdentifierOf(stream)),
  );
