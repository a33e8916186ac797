/**
 * Idempotency-Key records: the first final answer to a (caller, key), kept so that a
 * repeat of the same request gets the same answer and appends nothing.
 */
export interface IdempotencyRecord {
  requestHash: string;
  status: number | null;
  body: string | null;
}

export interface IdempotencyStore {
  /** The record for this (caller, key), created with `requestHash` when there is none. */
  reserve(caller: string, key: string, requestHash: string): Promise<IdempotencyRecord>;
  complete(caller: string, key: string, status: number, body: string): Promise<void>;
  /** Drops a record that got no final answer, so the key can be used again. */
  forget(caller: string, key: string): Promise<void>;
  /** Forgets records older than `before`; returns how many. */
  purge(before: Date): Promise<number>;
  close(): Promise<void>;
}
