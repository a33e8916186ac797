import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { EventStore, StoredEvent } from '../eventstore/port.js';
import { CheckpointGap, type ReadModel } from './port.js';

export interface ProjectionRunner {
  /** Resolves true once the read model has applied `position`, false after the timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
  /** Resolves once the read model has caught up with the log as it was at start. */
  caughtUp: Promise<void>;
  /** False while the last attempt to follow the log or apply a batch failed. */
  healthy(): boolean;
  stop(): Promise<void>;
}

/**
 * Who may advance the read model. Without one, this runner always may (the in-memory
 * read model is this process's own). With MongoDB, a lease makes one instance the writer.
 */
export interface Leadership {
  isLeader(): boolean;
  /** Calls back when this instance gains or loses the lead. */
  onChange(listener: () => void): void;
}

/** A read model that a rebuild can switch to a new version (MongoDB). */
export interface Switchable {
  onSwitch(listener: () => void): void;
}

interface Waiter {
  position: bigint;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

const POLL_MS = 25;

/**
 * Follows the log from the read model's checkpoint and applies events in batches: large
 * ones while catching up, one turn of the event loop's worth when live. A failed batch
 * is tried again, with backoff. It restarts from the checkpoint when the read model is
 * switched to a rebuilt version, and only leads when it holds the lead; an instance that
 * does not lead still answers `waitFor` by watching the checkpoint.
 */
export const startProjectionRunner = async (options: {
  store: EventStore;
  readModel: ReadModel & Partial<Switchable>;
  logger: Logger;
  batchSize?: number;
  leadership?: Leadership;
  onApplied?: (position: bigint) => void;
}): Promise<ProjectionRunner> => {
  const { store, readModel, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const waiters = new Set<Waiter>();
  let applied = await readModel.position();
  let stopped = false;
  let failing = false;
  let restart = new AbortController();

  const reached = (position: bigint): boolean => applied !== null && applied >= position;
  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (!reached(waiter.position)) continue;
      clearTimeout(waiter.timer);
      waiters.delete(waiter);
      waiter.resolve(true);
    }
  };
  const advance = (position: bigint | null): void => {
    if (position === null || (applied !== null && position <= applied)) return;
    applied = position;
    options.onApplied?.(position);
    settleWaiters();
  };

  // 1. Applying: batches, each tried until it lands (or the runner stops or restarts).
  //    A batch queued before a restart is dropped, never applied (the read model may be
  //    another version by then, or another instance may lead); and the read model
  //    refuses a batch that does not follow on from its checkpoint.
  const applyBatch = async (
    batch: StoredEvent[],
    after: bigint | null,
    signal: AbortSignal,
  ): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      if (signal.aborted) return;
      try {
        await readModel.apply(batch, { after });
        failing = false;
        advance(batch.at(-1)!.position);
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof CheckpointGap) {
          logger.warn({ err: error }, 'read model moved on elsewhere; following again');
          restartNow();
          return;
        }
        failing = true;
        const wait = Math.min(100 * 2 ** attempt, 10_000);
        logger.error({ err: error, attempt, wait }, 'projection batch failed; retrying');
        await sleep(wait, undefined, { signal }).catch(() => {});
        if (signal.aborted) return;
      }
    }
  };

  const follow = async (signal: AbortSignal): Promise<void> => {
    const from = await readModel.position();
    applied = from === null ? applied : from;
    let pending: StoredEvent[] = [];
    // The position just before the next batch (where the subscription started, at first).
    let previous = from;
    // One batch at a time, each taking every event that arrived while the one before it
    // was applied (up to batchSize): a slow read model gets fewer, larger batches instead
    // of a queue of small ones (on FerretDB a batch costs a dozen round trips, whatever
    // its size, and a queue of one-event batches fell minutes behind under load).
    const drain = async (): Promise<void> => {
      while (pending.length > 0 && !signal.aborted) {
        const batch = pending.splice(0, batchSize);
        const after = previous;
        previous = batch.at(-1)!.position;
        await applyBatch(batch, after, signal);
      }
    };
    let draining: Promise<void> | null = null;
    const flush = (): Promise<void> =>
      (draining ??= drain().finally(() => {
        draining = null;
      }));
    let scheduled = false;
    const sealed = readModel.readsSealed === true;
    // Catching up (at start, a whole log): page by page, each page one batch; far cheaper
    // than handing events over one at a time. Then following: the subscription hands
    // events over one at a time, and `flush` gathers them into batches as above.
    for (;;) {
      const page = await store.readAll({ after: previous, limit: batchSize, sealed });
      if (page.length === 0 || signal.aborted) break;
      pending = page;
      await flush();
      if (page.length < batchSize) break;
    }
    for await (const event of store.subscribe({ after: previous, signal, sealed })) {
      pending.push(event);
      if (pending.length >= batchSize) {
        await flush();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          void flush();
        });
      }
    }
    await flush();
  };

  // 2. Leading when allowed; restarting on a switch of the read model or of the lead.
  const lead = async (): Promise<void> => {
    while (!stopped) {
      if (options.leadership && !options.leadership.isLeader()) {
        await watch(restart.signal);
        continue;
      }
      const signal = restart.signal;
      try {
        await follow(signal);
      } catch (error) {
        if (stopped) return;
        failing = true;
        logger.error({ err: error }, 'following the log failed; starting again');
        await sleep(1000, undefined, { signal }).catch(() => {});
      }
      if (!signal.aborted && !stopped) await sleep(POLL_MS);
    }
  };

  // Not leading: the checkpoint, as another instance advances it.
  const watch = async (signal: AbortSignal): Promise<void> => {
    while (!signal.aborted && !stopped) {
      advance(await readModel.position().catch(() => null));
      await sleep(POLL_MS * 4, undefined, { signal }).catch(() => {});
    }
  };

  const restartNow = (): void => {
    const previous = restart;
    restart = new AbortController();
    previous.abort();
  };
  readModel.onSwitch?.(() => {
    // A rebuilt read model has its own checkpoint: start over from there.
    applied = null;
    restartNow();
  });
  options.leadership?.onChange(restartNow);
  const leading = lead();

  // 3. Ready when the read model has reached the log's head as it was at start.
  const head = await store.headPosition();
  const caughtUp = (async () => {
    while (!stopped && head !== null && !reached(head)) await sleep(POLL_MS);
  })();

  return {
    waitFor: (position, timeoutMs) => {
      if (reached(position)) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const waiter: Waiter = {
          position,
          resolve,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            resolve(false);
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    caughtUp,
    healthy: () => !failing,
    stop: async () => {
      stopped = true;
      restart.abort();
      await leading;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.resolve(false);
      }
      waiters.clear();
    },
  };
};
