/**
 * The double's storage: one append-only log of events, as EventStoreDB's transaction file,
 * with an index per stream. It knows nothing of gRPC, expected revisions or deletion rules.
 */

/** An event as a writer proposes it. */
export interface ProposedEvent {
  /** Lowercase UUID. */
  id: string;
  type: string;
  isJson: boolean;
  data: Uint8Array;
  metadata: Uint8Array;
}

/** An event as the log holds it. */
export interface RecordedEvent extends ProposedEvent {
  stream: string;
  revision: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, the unit of EventStoreDB's `created`. */
  created: bigint;
  /**
   * Where the record starts in the log. Every write commits itself, so this is both the
   * commit and the prepare position, as on a real server.
   */
  position: bigint;
  /** Where the record ends. Backward reads of `$all` compare this with their start. */
  postPosition: bigint;
}

export interface EventLog {
  /** Every event, in log order. */
  readonly events: readonly RecordedEvent[];
  /** The events of one stream in revision order; empty when it never had any. */
  streamEvents(stream: string): readonly RecordedEvent[];
  /** The latest event of `stream` with this id, if any. */
  findById(stream: string, id: string): RecordedEvent | undefined;
  /** Appends events to `stream` from `firstRevision` on and tells every follower. */
  write(stream: string, firstRevision: bigint, events: ProposedEvent[]): RecordedEvent[];
  /** Writes a record that is not an event, as the server does for an append of nothing. */
  writeEmptyRecord(): bigint;
  /** Calls `listener` synchronously for each event written from now on, until unfollowed. */
  follow(listener: (event: RecordedEvent) => void): () => void;
}

const TICKS_PER_MILLISECOND = 10_000n;
// Fixed bytes of a prepare record around its variable parts (length prefix and suffix, flags,
// positions, ids, timestamp): only there so that positions grow like byte offsets.
const RECORD_OVERHEAD = 86n;

export const createEventLog = (): EventLog => {
  const events: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const ids = new Map<string, Map<string, RecordedEvent>>();
  const followers = new Set<(event: RecordedEvent) => void>();
  let nextPosition = 0n;

  const record = (stream: string, revision: bigint, proposed: ProposedEvent) => {
    const size = recordSize(stream, proposed);
    const event: RecordedEvent = {
      ...proposed,
      stream,
      revision,
      created: BigInt(Date.now()) * TICKS_PER_MILLISECOND,
      position: nextPosition,
      postPosition: nextPosition + size,
    };
    nextPosition += size;
    events.push(event);
    streamList(stream).push(event);
    idIndex(stream).set(event.id, event);
    return event;
  };

  const streamList = (stream: string) => {
    const list = streams.get(stream) ?? [];
    streams.set(stream, list);
    return list;
  };

  const idIndex = (stream: string) => {
    const index = ids.get(stream) ?? new Map<string, RecordedEvent>();
    ids.set(stream, index);
    return index;
  };

  return {
    events,
    streamEvents: (stream) => streams.get(stream) ?? [],
    findById: (stream, id) => ids.get(stream)?.get(id),
    write: (stream, firstRevision, proposed) => {
      const written = proposed.map((event, i) =>
        record(stream, firstRevision + BigInt(i), event),
      );
      // Followers hear of a write only once all of it is in the log, as readers would.
      for (const follower of [...followers]) written.forEach(follower);
      return written;
    },
    writeEmptyRecord: () => {
      const position = nextPosition;
      nextPosition += RECORD_OVERHEAD;
      return position;
    },
    follow: (listener) => {
      followers.add(listener);
      return () => followers.delete(listener);
    },
  };
};

const recordSize = (stream: string, event: ProposedEvent): bigint =>
  RECORD_OVERHEAD +
  BigInt(
    Buffer.byteLength(stream) +
      Buffer.byteLength(event.type) +
      event.data.length +
      event.metadata.length,
  );
