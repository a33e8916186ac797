/**
 * Which events a read returns, and in which order. Reads start inclusively: forwards from a
 * revision or position includes the event there. Backwards through `$all` is the exception,
 * as on the server: it takes the records that end at or before the position, so the event
 * that starts there is left out.
 */
import type { RecordedEvent } from './eventLog.js';
import type { StreamState } from './streamState.js';

export type StreamStart = 'start' | 'end' | bigint;
export type AllStart = 'start' | 'end' | LogPosition;

/** A position in `$all` as clients send it. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

export interface ReadRange<Start> {
  from: Start;
  forwards: boolean;
  count: bigint;
}

export const readStream = (
  events: readonly RecordedEvent[],
  state: StreamState,
  { from, forwards, count }: ReadRange<StreamStart>,
): RecordedEvent[] => {
  // Reads hide what the stream's `$tb` metadata truncated.
  const visible = events.filter((event) => event.revision >= state.truncateBefore);
  if (forwards) {
    const first = from === 'start' ? 0n : from === 'end' ? state.lastRevision + 1n : from;
    return take(
      visible.filter((event) => event.revision >= first),
      count,
    );
  }
  const last = from === 'start' ? 0n : from === 'end' ? state.lastRevision : from;
  return take(visible.filter((event) => event.revision <= last).reverse(), count);
};

export const readAll = (
  events: readonly RecordedEvent[],
  accepts: (event: RecordedEvent) => boolean,
  { from, forwards, count }: ReadRange<AllStart>,
): RecordedEvent[] => {
  const inRange = forwards
    ? (event: RecordedEvent) =>
        from === 'start' || (from !== 'end' && !isBefore(event.position, from))
    : (event: RecordedEvent) =>
        from === 'end' || (from !== 'start' && !isAfter(event.postPosition, from));
  const selected = events.filter((event) => inRange(event) && accepts(event));
  return take(forwards ? selected : selected.reverse(), count);
};

/** Whether a record at `position` (commit and prepare alike) comes after `than`. */
export const isAfter = (position: bigint, than: LogPosition): boolean =>
  position > than.commit || (position === than.commit && position > than.prepare);

const isBefore = (position: bigint, than: LogPosition): boolean =>
  position < than.commit || (position === than.commit && position < than.prepare);

const take = (events: RecordedEvent[], count: bigint): RecordedEvent[] =>
  count >= BigInt(events.length) ? events : events.slice(0, Number(count));
