/**
 * `ServerFeatures/GetSupportedMethods`: what the client asks first on every channel. It uses
 * BatchAppend only when this lists it, as servers from 21.10 do; production therefore appends
 * through BatchAppend, and so does the double. Only the methods the double serves are listed.
 */
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Empty } from '@eventstore/db-client/generated/shared_pb.js';
import type { SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb.js';
import { featuresPb } from './protocol.js';

/** The server version the double answers like: the first with `caught_up` was 23.10. */
const SERVER_VERSION = '24.10.0';

const STREAMS = 'event_store.client.streams.streams';
const METHODS: { service: string; method: string; features: string[] }[] = [
  { service: STREAMS, method: 'read', features: ['position', 'events'] },
  { service: STREAMS, method: 'append', features: [] },
  { service: STREAMS, method: 'batchappend', features: ['deadline_duration'] },
  { service: STREAMS, method: 'delete', features: [] },
  { service: STREAMS, method: 'tombstone', features: [] },
  {
    service: 'event_store.client.server_features.serverfeatures',
    method: 'getsupportedmethods',
    features: [],
  },
];

export const getSupportedMethods: handleUnaryCall<Empty, SupportedMethods> = (
  _call,
  callback,
) => {
  const supported = new featuresPb.SupportedMethods();
  supported.setEventStoreServerVersion(SERVER_VERSION);
  for (const { service, method, features } of METHODS) {
    const entry = new featuresPb.SupportedMethod();
    entry.setServiceName(service);
    entry.setMethodName(method);
    entry.setFeaturesList(features);
    supported.addMethods(entry);
  }
  callback(null, supported);
};
