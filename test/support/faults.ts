import type { EventStore } from '../../src/eventstore/port.js';

/** Thrown where a simulated crash stopped the work. */
export class SimulatedCrash extends Error {
  constructor(stream: string) {
    super(`simulated crash before appending to ${stream}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * An event store that "dies" before an append that matches: the append never reaches
 * the log and the command stops there, as it would if the process were killed between
 * two writes. The fault fires once; later appends go through.
 */
export const crashBefore = (
  store: EventStore,
  matches: (stream: string, types: string[]) => boolean,
): EventStore & { crashed: () => boolean } => {
  let fired = false;
  return {
    ...store,
    append: (stream, events, expected) => {
      if (
        !fired &&
        matches(
          stream,
          events.map((e) => e.type),
        )
      ) {
        fired = true;
        return Promise.reject(new SimulatedCrash(stream));
      }
      return store.append(stream, events, expected);
    },
    crashed: () => fired,
  };
};
