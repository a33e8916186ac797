/**
 * The event store port: single-stream appends with an expected revision, stream reads,
 * reads of the whole log from a global position, and following new events. Nothing more,
 * so that EventStoreDB and SQLite can both offer it; the domain needs no transaction
 * across streams.
 */

/** Who caused an event, in which flow, and when. Never holds secrets. */
export interface EventMetadata {
  schemaVersion: number;
  actor: string;
  flow: 'api' | 'sign-in' | 'link' | 'merge' | 'admin' | 'repair';
  correlationId: string;
  causationId: string;
  requestId: string | null;
  /** Id of the command that appended the event; a retried command finds its own work. */
  commandId: string | null;
  time: string;
  /**
   * On events that give a user identities: the IDENTITIES_PER_PROVIDER they were decided
   * under, which `verify` judges them by (the setting may change later).
   */
  identitiesPerProvider?: number;
}

export interface NewEvent {
  id: string;
  type: string;
  data: object;
  metadata: EventMetadata;
}

export interface StoredEvent {
  stream: string;
  revision: number;
  /** Global position in the log; only grows. */
  position: bigint;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

/** `no-stream`: the stream must not exist; a number: its last event has that revision. */
export type ExpectedRevision = number | 'no-stream' | 'any' | 'exists';

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextRevision: number;
  /**
   * Position of the last appended event. (EventStoreDB tells only that one; the events of
   * one append are consecutive in their stream and in the log.)
   */
  position: bigint;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position; null reads from the start. */
  after: bigint | null;
  limit: number;
  /**
   * Leave personal data sealed (see eventstore/codec.ts): for readers that never show it,
   * such as the in-memory read model, which then replays without decrypting anything.
   */
  sealed?: boolean;
}

export interface SubscribeOptions {
  after: bigint | null;
  signal?: AbortSignal;
  sealed?: boolean;
}

export interface EventStore {
  append(
    stream: string,
    events: NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult>;
  /** A stream that does not exist reads as empty. */
  readStream(stream: string): Promise<StoredEvent[]>;
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;
  /** Every event after `after`, then new ones as they are appended, until aborted. */
  subscribe(options: SubscribeOptions): AsyncIterable<StoredEvent>;
  /** Position of the last event in the log, or null when it is empty. */
  headPosition(): Promise<bigint | null>;
  close(): Promise<void>;
}

/** The append's expected revision did not hold. Callers re-read and decide again. */
export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no-stream',
  ) {
    super(
      `stream ${stream} is at ${String(actual)}, the append expected ${String(expected)}`,
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

export const isWrongExpectedRevision = (
  error: unknown,
): error is WrongExpectedRevisionError => error instanceof WrongExpectedRevisionError;
