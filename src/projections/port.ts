import type { StoredEvent } from '../eventstore/port.js';
import type { IdentityKey } from '../domain/values.js';
import type { IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';

/**
 * The read-model port. A store applies events in log order and remembers the position of
 * the last one it applied (its checkpoint); applying an event twice changes nothing.
 */
export interface ReadModel {
  /** Position of the last applied event, or null before the first. */
  position(): Promise<bigint | null>;
  apply(events: StoredEvent[]): Promise<void>;
  getUser(userId: string): Promise<UserDoc | null>;
  getIdentity(identity: IdentityKey): Promise<IdentityDoc | null>;
  /** Active users whose email equals this one after folding. */
  findUsersByEmail(email: string): Promise<UserDoc[]>;
  listOpenClaims(): Promise<OpenClaimDoc[]>;
  /** Forgets an open claim that turned out to be settled. */
  dropOpenClaim(stream: string, position: bigint): Promise<void>;
  close(): Promise<void>;
}
