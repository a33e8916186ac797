import type { Logger } from 'pino';
import type { EventStore, StoredEvent } from '../eventstore/port.js';
import type { ReadModel } from './port.js';

export interface ProjectionRunner {
  /** Resolves true once the read model has applied `position`, false after the timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
  /** Resolves once the read model has caught up with the log as it was at start. */
  caughtUp: Promise<void>;
  stop(): Promise<void>;
}

interface Waiter {
  position: bigint;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * Follows the log from the read model's checkpoint and applies events in batches: large
 * ones while catching up, one turn of the event loop's worth when live.
 */
export const startProjectionRunner = async (options: {
  store: EventStore;
  readModel: ReadModel;
  logger: Logger;
  batchSize?: number;
}): Promise<ProjectionRunner> => {
  const { store, readModel, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const abort = new AbortController();
  const waiters = new Set<Waiter>();
  let applied = await readModel.position();
  let pending: StoredEvent[] = [];
  let applying: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  const reached = (position: bigint): boolean => applied !== null && applied >= position;

  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (!reached(waiter.position)) continue;
      clearTimeout(waiter.timer);
      waiters.delete(waiter);
      waiter.resolve(true);
    }
  };

  const flush = (): Promise<void> => {
    applying = applying.then(async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      await readModel.apply(batch);
      applied = (batch.at(-1) as StoredEvent).position;
      settleWaiters();
    });
    return applying;
  };

  // The head at start is what "caught up" means for readiness.
  const head = await store.headPosition();
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const checkCaughtUp = (): void => {
    if (head === null || reached(head)) markCaughtUp();
  };
  checkCaughtUp();

  const follow = async (): Promise<void> => {
    let scheduled = false;
    for await (const event of store.subscribe({ after: applied, signal: abort.signal })) {
      pending.push(event);
      if (pending.length >= batchSize) {
        await flush();
        checkCaughtUp();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          void flush().then(checkCaughtUp);
        });
      }
    }
    await flush();
  };

  const following = follow().catch((error: unknown) => {
    failure = error;
    logger.error({ err: error }, 'projection runner stopped');
  });

  return {
    waitFor: (position, timeoutMs) => {
      if (reached(position)) return Promise.resolve(true);
      if (failure) return Promise.resolve(false);
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
    stop: async () => {
      abort.abort();
      await following;
      await applying;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.resolve(false);
      }
      waiters.clear();
    },
  };
};
