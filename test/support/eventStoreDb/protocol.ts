/**
 * The EventStoreDB wire vocabulary, loaded from the client package itself so that the double
 * and the real client share one set of message classes: the generated serialisers check
 * `instanceof`, so a message built from another copy of these files would not serialise.
 * The generated files are CommonJS; they are loaded with `require` and typed with the
 * declarations the package ships beside them.
 */
import { createRequire } from 'node:module';
import type * as AnyModule from 'google-protobuf/google/protobuf/any_pb.js';
import type * as EmptyModule from 'google-protobuf/google/protobuf/empty_pb.js';
import type * as CodeModule from '@eventstore/db-client/generated/code_pb.js';
import type * as FeatureRpcModule from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import type * as FeaturesModule from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type * as SharedModule from '@eventstore/db-client/generated/shared_pb.js';
import type * as StatusModule from '@eventstore/db-client/generated/status_pb.js';
import type * as StreamsGrpcModule from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as StreamsModule from '@eventstore/db-client/generated/streams_pb.js';

const GENERATED = '@eventstore/db-client/generated';
const require = createRequire(import.meta.url);
// google-protobuf is the client's dependency, not the project's: resolve it from the client's
// own files so that Any and Empty are the very classes its messages were generated against.
const requireFromClient = createRequire(require.resolve(`${GENERATED}/status_pb.js`));

export const streamsPb = require(`${GENERATED}/streams_pb.js`) as typeof StreamsModule;
export const sharedPb = require(`${GENERATED}/shared_pb.js`) as typeof SharedModule;
export const statusPb = require(`${GENERATED}/status_pb.js`) as typeof StatusModule;
export const codePb = require(`${GENERATED}/code_pb.js`) as typeof CodeModule;
export const featuresPb = require(
  `${GENERATED}/serverfeatures_pb.js`,
) as typeof FeaturesModule;

export const { StreamsService } = require(
  `${GENERATED}/streams_grpc_pb.js`,
) as typeof StreamsGrpcModule;
export const { ServerFeaturesService } = require(
  `${GENERATED}/serverfeatures_grpc_pb.js`,
) as typeof FeatureRpcModule;

export const { Any } = requireFromClient(
  'google-protobuf/google/protobuf/any_pb.js',
) as typeof AnyModule;
/** `google.protobuf.Empty`, which some fields use instead of `event_store.client.Empty`. */
export const { Empty: GoogleEmpty } = requireFromClient(
  'google-protobuf/google/protobuf/empty_pb.js',
) as typeof EmptyModule;
