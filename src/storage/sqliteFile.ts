import { closeSync, fdatasync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDatabase } from './openDatabase.js';

/**
 * One connection to a SQLite file of the data directory, with its writes committed
 * together and synced off the event loop:
 *
 * 1. The writes asked for in one turn of the event loop go into one transaction (sign-ins
 *    at the same moment write their sessions, tokens, keys and idempotency records at
 *    once). Each runs in a savepoint of its own: one that throws is undone alone.
 * 2. The commit does not wait for the disk (`synchronous=NORMAL`); the write-ahead log is
 *    then flushed with fdatasync on libuv's thread pool, one flush for every commit made
 *    while the previous one ran. A write's promise settles after that flush: an answered
 *    write survives a power cut, as with `synchronous=FULL`, but the event loop serves
 *    other requests while the disk works (a FULL commit blocked it for about 0.3 ms).
 *
 * What a commit wrote is visible to reads of this process before its flush ends; the
 * event store keeps such events from its followers until they are on disk.
 */
export interface SqliteFile {
  readonly db: Database.Database;
  write<T>(work: () => T): Promise<T>;
  /** Commits what is queued now; `close` does it too. */
  flush(): void;
  /** Called after every flush to disk, once what it covered is answered. */
  onDurable(listener: () => void): void;
  close(): Promise<void>;
}

interface Queued {
  work: () => unknown;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

export const openSqliteFile = (
  file: string,
  options: { onError?: (error: unknown) => void } = {},
): SqliteFile => {
  const db = openDatabase(file);
  const inMemory = file === ':memory:';
  if (!inMemory) db.pragma('synchronous = NORMAL');
  const listeners: (() => void)[] = [];
  let queue: Queued[] = [];
  let scheduled = false;

  // The write-ahead log's descriptor, opened once it exists (after the first commit).
  let walFd: number | null = null;
  const toDisk = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (inMemory) return resolve();
      walFd ??= openSync(`${file}-wal`, 'r');
      fdatasync(walFd, (error) => (error ? reject(error) : resolve()));
    });

  // One flush at a time; commits made during it share the next one.
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const sync = (): Promise<void> => {
    if (!running) {
      running = toDisk().finally(() => {
        running = null;
      });
      return running;
    }
    next ??= running.then(
      () => ((next = null), sync()),
      () => ((next = null), sync()),
    );
    return next;
  };

  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const entry of batch) {
          try {
            outcomes.push({ value: db.transaction(entry.work)() });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      }).immediate();
    } catch (error) {
      options.onError?.(error);
      for (const entry of batch) entry.reject(error);
      return;
    }
    sync().then(
      () => {
        batch.forEach((entry, index) => {
          const outcome = outcomes[index]!;
          if ('value' in outcome) entry.resolve(outcome.value as never);
          else entry.reject(outcome.error);
        });
        for (const listener of listeners) listener();
      },
      (error: unknown) => {
        options.onError?.(error);
        for (const entry of batch) entry.reject(error);
      },
    );
  };

  return {
    db,
    write: <T>(work: () => T) =>
      new Promise<T>((resolve, reject) => {
        if (!db.open) throw new Error(`${file} is closed`);
        queue.push({ work, resolve: resolve as (value: never) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    flush,
    onDurable: (listener) => listeners.push(listener),
    close: async () => {
      if (!db.open) return;
      flush();
      await sync().catch(() => {});
      db.close();
      if (walFd !== null) closeSync(walFd);
      walFd = null;
    },
  };
};

/** A file's path opens a connection of its own; a shared one is used as it is. */
export const sqliteFileOf = (
  file: string | SqliteFile,
): { sqlite: SqliteFile; owned: boolean } =>
  typeof file === 'string'
    ? { sqlite: openSqliteFile(file), owned: true }
    : { sqlite: file, owned: false };
