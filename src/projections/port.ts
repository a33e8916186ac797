import type { StoredEvent } from '../eventstore/port.js';
import type { IdentityKey } from '../domain/values.js';
import type { IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';

/**
 * The read-model port. A store applies events in log order and remembers the position of
 * the last one it applied (its checkpoint); applying an event twice changes nothing.
 */
export interface ReadModel {
  /** True when it never needs personal data from events (it may get them sealed). */
  readsSealed?: boolean;
  /**
   * True when its answers come from the log itself, so they include every appended event
   * without waiting for the runner (the embedded model reads streams and the email index).
   */
  readsCurrent?: boolean;
  /** Position of the last applied event, or null before the first. */
  position(): Promise<bigint | null>;
  /**
   * Applies events in log order. With `after` (the position of the event just before
   * them in the log; null for the log's start), a batch that would leave a gap after
   * the checkpoint is refused with `CheckpointGap`: the checkpoint never skips events.
   */
  apply(events: StoredEvent[], options?: { after?: bigint | null }): Promise<void>;
  getUser(userId: string): Promise<UserDoc | null>;
  getIdentity(identity: IdentityKey): Promise<IdentityDoc | null>;
  /** Active users whose email equals this one after folding. */
  findUsersByEmail(email: string): Promise<UserDoc[]>;
  listOpenClaims(): Promise<OpenClaimDoc[]>;
  /** Forgets an open claim that turned out to be settled. */
  dropOpenClaim(stream: string, position: bigint): Promise<void>;
  close(): Promise<void>;
}

/** A batch that does not follow on from the read model's checkpoint (a stale writer). */
export class CheckpointGap extends Error {
  constructor(
    readonly checkpoint: bigint | null,
    readonly after: bigint | null,
  ) {
    super(
      `the batch follows position ${after ?? 'start'}, the read model is at ${checkpoint ?? 'start'}`,
    );
    this.name = 'CheckpointGap';
  }
}

/** Throws unless events following `after` continue from `checkpoint` without a gap. */
export const assertContiguous = (
  checkpoint: bigint | null,
  after: bigint | null | undefined,
): void => {
  if (after === undefined || after === null) return;
  if (checkpoint === null || checkpoint < after)
    throw new CheckpointGap(checkpoint, after);
};
