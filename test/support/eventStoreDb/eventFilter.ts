/**
 * Which events a reader of `$all` gets. Server-side filters match the stream name or the event
 * type, by prefixes or by a regular expression. Whatever the filter, `$all` never shows the
 * server's epoch records nor the bookkeeping of persistent subscriptions to `$all`.
 */
import type { ReadReq } from '@eventstore/db-client/generated/streams_pb.js';
import type { RecordedEvent } from './eventLog.js';
import { streamsPb } from './protocol.js';
import { MalformedRequestError } from './wireValues.js';

export interface AllFilter {
  accepts(event: RecordedEvent): boolean;
  /**
   * A filtered subscription reports a checkpoint after this many events examined, matching or
   * not: the search window times the checkpoint interval multiplier. Null without a filter.
   */
  checkpointEvery: number | null;
}

/** Page size of the server's filtered reads, the search window when the client sets none. */
const DEFAULT_SEARCH_WINDOW = 32;

const { FilterCase, WindowCase } = streamsPb.ReadReq.Options.FilterOptions;

export const allFilterOf = (options: ReadReq.Options): AllFilter => {
  const filter = options.getFilter();
  if (filter === undefined) return { accepts: visibleInAll, checkpointEvery: null };

  const onStreamName = filter.getFilterCase() === FilterCase.STREAM_IDENTIFIER;
  const expression = onStreamName ? filter.getStreamIdentifier() : filter.getEventType();
  const regex = expression?.getRegex() ?? '';
  const prefixes = expression?.getPrefixList() ?? [];
  // A regular expression wins over prefixes when both are given.
  const pattern = regex === '' ? null : compile(regex);
  const matches = (value: string) =>
    pattern === null
      ? prefixes.some((prefix) => value.startsWith(prefix))
      : pattern.test(value);
  const window =
    filter.getWindowCase() === WindowCase.MAX ? filter.getMax() : DEFAULT_SEARCH_WINDOW;

  return {
    accepts: (event) =>
      visibleInAll(event) && matches(onStreamName ? event.stream : event.type),
    checkpointEvery: window * filter.getCheckpointintervalmultiplier(),
  };
};

const visibleInAll = ({ stream }: RecordedEvent): boolean =>
  !stream.startsWith('$') ||
  (stream !== '$epoch-information' &&
    !(
      stream.startsWith('$persistentsubscription-$all::') &&
      (stream.endsWith('-checkpoint') || stream.endsWith('-parked'))
    ));

const compile = (regex: string): RegExp => {
  try {
    return new RegExp(regex);
  } catch {
    throw new MalformedRequestError(`'${regex}' is not a valid regular expression`);
  }
};
