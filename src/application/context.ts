import type { Logger } from 'pino';
import type { Policy } from '../domain/policies.js';
import type { IdentityKey } from '../domain/values.js';
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

/**
 * What the service keeps about a person outside the log: provider tokens, browser
 * sessions and the key that opens the person's data in the log. Unlinking takes an
 * identity's tokens with it; erasure takes everything.
 */
export interface PersonalDataOutsideLog {
  /**
   * Removes the identities' tokens stored until now (ones stored later belong to whoever
   * claimed the identity since).
   */
  removeTokens(identities: IdentityKey[]): Promise<void>;
  /** Ends every browser session signed in as the user. */
  endSessions(userId: string): Promise<number>;
  /**
   * Destroys the user's data key, which erases the user's personal data from the log
   * (appending `UserErased` does it too, but a crash right after that append would leave
   * it undone). Destroying a destroyed key changes nothing.
   */
  forgetPersonalData(userId: string): Promise<void>;
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
  /** Absent in tests of the log alone: a token sweep still removes orphaned tokens. */
  outsideLog?: PersonalDataOutsideLog;
  /**
   * The commands running now. The service waits for them before it closes its stores: a
   * command whose client hung up still runs to its end.
   */
  underWay?: Set<Promise<unknown>>;
}
