import { sqliteFileOf, type SqliteFile } from './sqliteFile.js';
import type { IdempotencyRecord, IdempotencyStore } from '../application/idempotency.js';

/** Idempotency records in a SQLite file of the data directory. */
export const openSqliteIdempotencyStore = (
  file: string | SqliteFile,
): IdempotencyStore => {
  const { sqlite, owned } = sqliteFileOf(file);
  const { db, write } = sqlite;
  db.exec(`
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      caller TEXT NOT NULL,
      key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      status INTEGER,
      body TEXT,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (caller, key)
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
  `);
  const insert = db.prepare(
    `INSERT INTO idempotency_keys (caller, key, request_hash, created_at)
     VALUES (?, ?, ?, ?) ON CONFLICT (caller, key) DO NOTHING`,
  );
  const select = db.prepare<
    [string, string],
    { request_hash: string; status: number | null; body: string | null }
  >(
    'SELECT request_hash, status, body FROM idempotency_keys WHERE caller = ? AND key = ?',
  );
  const update = db.prepare(
    'UPDATE idempotency_keys SET status = ?, body = ? WHERE caller = ? AND key = ? AND status IS NULL',
  );
  const purge = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  const forget = db.prepare(
    'DELETE FROM idempotency_keys WHERE caller = ? AND key = ? AND status IS NULL',
  );

  return {
    reserve: (caller, key, requestHash): Promise<IdempotencyRecord> =>
      write(() => {
        insert.run(caller, key, requestHash, Date.now());
        const row = select.get(caller, key)!;
        return { requestHash: row.request_hash, status: row.status, body: row.body };
      }),
    complete: async (caller, key, status, body) => {
      await write(() => update.run(status, body, caller, key));
    },
    forget: async (caller, key) => {
      await write(() => forget.run(caller, key));
    },
    purge: async (before) => (await write(() => purge.run(before.getTime()))).changes,
    close: async () => {
      if (owned) await sqlite.close();
    },
  };
};
