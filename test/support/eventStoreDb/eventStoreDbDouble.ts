/**
 * An in-memory stand-in for EventStoreDB that speaks its gRPC protocol, for tests of code
 * that uses the real `@eventstore/db-client`. It serves what an event store adapter needs:
 * server features, Append and BatchAppend, reads and catch-up subscriptions (stream and
 * `$all`, with filters and checkpoints), soft delete and tombstone. It starts with a few
 * system events and another application's event in `$all`, as a real server would have.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createAppendHandler, createBatchAppendHandler } from './appendService.js';
import { createDeleteHandler, createTombstoneHandler } from './deleteService.js';
import { createEventLog } from './eventLog.js';
import { ServerFeaturesService, StreamsService } from './protocol.js';
import { fail, type ReadCall } from './readCall.js';
import { createReadHandler } from './readService.js';
import { connectionDroppedError } from './rpcErrors.js';
import { getSupportedMethods } from './serverFeatures.js';
import { writeSystemEvents } from './systemEvents.js';

export type DoubleMethod =
  'GetSupportedMethods' | 'Read' | 'Append' | 'BatchAppend' | 'Delete' | 'Tombstone';

export interface EventStoreDbDouble {
  /** `esdb://<host>:<port>?tls=false`, for `EventStoreDBClient.connectionString`. */
  connectionString: string;
  port: number;
  /**
   * Ends every open Read call (subscriptions included) with gRPC UNAVAILABLE, as a dropped
   * connection would; the server keeps running and keeps its data.
   */
  dropConnections(): void;
  /** How many calls of `method` the double has received, e.g. to see BatchAppend in use. */
  callCount(method: DoubleMethod): number;
  /** Stops at once; a graceful shutdown would wait forever on open subscriptions. */
  close(): Promise<void>;
}

/** Starts a double on `host` (127.0.0.1) and `port` (0: any free port). */
export const startEventStoreDbDouble = async ({
  port = 0,
  host = '127.0.0.1',
}: { port?: number; host?: string } = {}): Promise<EventStoreDbDouble> => {
  const log = createEventLog();
  writeSystemEvents(log);
  const openReads = new Set<ReadCall>();
  const calls = new Map<DoubleMethod, number>();
  const counted =
    <Args extends unknown[]>(method: DoubleMethod, handler: (...args: Args) => void) =>
    (...args: Args) => {
      calls.set(method, (calls.get(method) ?? 0) + 1);
      handler(...args);
    };

  const server = new Server();
  server.addService(StreamsService, {
    read: counted('Read', createReadHandler(log, openReads)),
    append: counted('Append', createAppendHandler(log)),
    batchAppend: counted('BatchAppend', createBatchAppendHandler(log)),
    delete: counted('Delete', createDeleteHandler(log)),
    tombstone: counted('Tombstone', createTombstoneHandler(log)),
  });
  server.addService(ServerFeaturesService, {
    getSupportedMethods: counted('GetSupportedMethods', getSupportedMethods),
  });
  const boundPort = await bind(server, `${host}:${port}`);

  return {
    connectionString: `esdb://${host}:${boundPort}?tls=false`,
    port: boundPort,
    dropConnections: () => {
      for (const call of [...openReads]) fail(call, connectionDroppedError());
    },
    callCount: (method) => calls.get(method) ?? 0,
    close: async () => server.forceShutdown(),
  };
};

const bind = (server: Server, address: string): Promise<number> =>
  new Promise((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
