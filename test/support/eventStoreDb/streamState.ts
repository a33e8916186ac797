/**
 * What EventStoreDB derives about one stream from the log: its last revision, whether it is
 * tombstoned (hard deleted) or soft deleted, and which revisions reads hide.
 */
import type { EventLog } from './eventLog.js';

/**
 * `long.MaxValue`: the revision of a tombstone, and the `$tb` (truncate before) that a soft
 * delete writes into the stream's metadata.
 */
export const DELETED_STREAM = 9_223_372_036_854_775_807n;

export interface StreamState {
  /** Revision of the last event ever written, -1 when none. A soft delete keeps it. */
  lastRevision: bigint;
  tombstoned: boolean;
  softDeleted: boolean;
  /** Reads skip revisions below this one (`$tb` of the stream's metadata), 0 when unset. */
  truncateBefore: bigint;
  /** Whether the metadata stream `$$<stream>` has any event. */
  hasMetadata: boolean;
}

/** The stream that holds a stream's metadata events. */
export const metastreamOf = (stream: string): string => `$$${stream}`;

export const streamState = (log: EventLog, stream: string): StreamState => {
  const lastRevision = log.streamEvents(stream).at(-1)?.revision ?? -1n;
  const metadata = currentMetadata(log, stream);
  const truncateBefore = truncateBeforeOf(metadata);
  return {
    lastRevision,
    tombstoned: lastRevision === DELETED_STREAM,
    softDeleted: truncateBefore === DELETED_STREAM,
    truncateBefore,
    hasMetadata: log.streamEvents(metastreamOf(stream)).length > 0,
  };
};

/**
 * The stream's metadata with `$tb` set to `revision`: what the server writes when an append
 * brings a soft-deleted stream back, so that only the new events are visible. Null when the
 * current metadata is not a JSON object (the server then leaves it alone).
 */
export const undeletedMetadata = (
  log: EventLog,
  stream: string,
  revision: bigint,
): string | null => {
  const metadata = currentMetadata(log, stream);
  if (metadata === null) return null;
  return JSON.stringify({ ...metadata, $tb: Number(revision) });
};

/** The metadata a soft delete writes. Spelled out because JSON.stringify cannot say 2^63-1. */
export const SOFT_DELETED_METADATA = `{"$tb":${DELETED_STREAM}}`;

const currentMetadata = (
  log: EventLog,
  stream: string,
): Record<string, unknown> | null => {
  const latest = log.streamEvents(metastreamOf(stream)).at(-1);
  if (latest === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(latest.data).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
};

const truncateBeforeOf = (metadata: Record<string, unknown> | null): bigint => {
  const value = metadata?.['$tb'];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return 0n;
  // JSON.parse rounds 2^63-1 to 2^63; anything beyond 2^53 can only mean the deleted marker.
  return value > Number.MAX_SAFE_INTEGER ? DELETED_STREAM : BigInt(value);
};
