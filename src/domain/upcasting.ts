import { SCHEMA_VERSIONS, type EventType } from './events.js';
import { streams } from './values.js';

type Data = Record<string, unknown>;
type Upcast = (data: Data) => Data;

/**
 * Upcasters, by event type and the version they read: each turns that version's data into
 * the next version's. Events are stored as they were written and upcast on every read.
 */
const UPCASTERS: Partial<Record<EventType, Record<number, Upcast>>> = {
  // v2 adds the username's guard stream: once a username is erased (crypto-shredding), the
  // stream it guards must still be found, to release it and to show the history.
  UserRegistered: {
    1: (data) => ({
      ...data,
      usernameStream:
        typeof data.username === 'string' ? streams.username(data.username) : null,
    }),
  },
  UsernameSet: {
    1: (data) => ({ ...data, usernameStream: streams.username(String(data.username)) }),
  },
};

/** The data of an event of `type` written at `version`, as today's version has it. */
export const upcast = (type: string, version: number, data: Data): Data => {
  const current = SCHEMA_VERSIONS[type as EventType];
  const steps = UPCASTERS[type as EventType];
  let upcasted = data;
  for (let from = version; current !== undefined && from < current; from += 1) {
    const step = steps?.[from];
    if (!step) throw new Error(`no upcaster for ${type} v${from}`);
    upcasted = step(upcasted);
  }
  return upcasted;
};
