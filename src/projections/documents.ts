/** The read model's documents, as the queries return them (minus internal fields). */

export interface ConnectionDoc {
  provider: string;
  subject: string;
  linkedAt: string;
  email: string | null;
  emailVerified: boolean;
  displayName: string | null;
  claimRevision: number;
}

export interface UserDoc {
  userId: string;
  status: 'active' | 'merged' | 'erased';
  username: string | null;
  displayName: string | null;
  email: string | null;
  emailVerified: boolean;
  hasPassword: boolean;
  connections: ConnectionDoc[];
  mergedInto: string | null;
  createdAt: string;
  revision: number;
  /** Position of the last event applied to this document. */
  position: bigint;
}

export interface IdentityDoc {
  provider: string;
  subject: string;
  status: 'linked' | 'unowned' | 'released';
  userId: string | null;
  since: string;
  claimRevision: number;
  revision: number;
  position: bigint;
}

/**
 * A guard stream whose claim its owner has not settled yet: in flight, or left half-done
 * by a crash. The reconciler settles the ones that stay open too long.
 */
export interface OpenClaimDoc {
  stream: string;
  /** The claim to settle; null when any current claim of the stream must be checked. */
  claimRevision: number | null;
  since: string;
  position: bigint;
}
