import type { Logger } from 'pino';
import type { Policy } from '../domain/policies.js';
import type { EventMetadata, EventStore } from '../eventstore/port.js';
import type { ReadModel } from '../projections/port.js';
import type { ProjectionRunner } from '../projections/runner.js';

/** Who is asking, on behalf of which request and flow. Recorded in every event. */
export interface CommandContext {
  actor: string;
  flow: EventMetadata['flow'];
  correlationId: string;
  requestId: string | null;
  /**
   * Stable for one logical command: derived from the caller's Idempotency-Key when there
   * is one, so that a retry after a crash recognises (and finishes) its own earlier work.
   */
  commandId: string;
  /** True when `commandId` came from an Idempotency-Key (ids are then deterministic). */
  idempotent: boolean;
}

export interface PasswordHashing {
  /** log2 of scrypt's cost parameter N. */
  cost: number;
}

export interface Services {
  store: EventStore;
  readModel: ReadModel;
  projection: Pick<ProjectionRunner, 'waitFor'>;
  policy: Policy;
  logger: Logger;
  now: () => Date;
  passwords: PasswordHashing;
  /** Half-done work younger than this is left to the command that is doing it. */
  repairGraceMs: number;
  /** How many times a command re-reads and decides again after a revision conflict. */
  maxAttempts: number;
}
