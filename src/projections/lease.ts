import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { Logger } from 'pino';
import type { Leadership } from './runner.js';

interface LeaseRow {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/**
 * A lease in MongoDB that makes one instance the projection writer: taken when free or
 * expired, renewed at a third of its lifetime, given up on stop. On FerretDB an update is
 * not atomic, so two instances could both think they took it for a moment; each re-reads
 * the lease after taking it, and the read model's position guards make a doubled write
 * harmless anyway.
 */
export const holdLease = (options: {
  db: Db;
  name: string;
  logger: Logger;
  ttlMs?: number;
}): Leadership & {
  stop: () => Promise<void>;
  owner: string;
  /** Settles once the first attempt to take the lease is over. */
  ready: Promise<void>;
} => {
  const ttlMs = options.ttlMs ?? 15_000;
  const leases = options.db.collection<LeaseRow>('leases');
  const owner = randomUUID();
  const listeners: (() => void)[] = [];
  let leader = false;

  const set = (next: boolean) => {
    if (next === leader) return;
    leader = next;
    options.logger.info(
      { lease: options.name, leader },
      leader ? 'leading' : 'not leading',
    );
    listeners.forEach((listener) => listener());
  };

  const tryTake = async (): Promise<void> => {
    const now = new Date();
    try {
      await leases.updateOne(
        { _id: options.name, $or: [{ owner }, { expiresAt: { $lt: now } }] },
        { $set: { owner, expiresAt: new Date(now.getTime() + ttlMs) } },
        { upsert: true },
      );
    } catch (error) {
      // Held by another instance and not expired: the upsert collided with it.
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
    const row = await leases.findOne({ _id: options.name });
    set(row?.owner === owner && row.expiresAt > now);
  };

  const tick = () =>
    tryTake().catch((error: unknown) => {
      options.logger.warn({ err: error }, 'could not renew the projection lease');
      set(false);
    });
  const ready = tick();
  const timer = setInterval(tick, Math.max(ttlMs / 3, 50));
  timer.unref();

  return {
    owner,
    ready,
    isLeader: () => leader,
    onChange: (listener) => listeners.push(listener),
    stop: async () => {
      clearInterval(timer);
      if (leader) await leases.deleteOne({ _id: options.name, owner }).catch(() => {});
      set(false);
    },
  };
};
