import { createHmac, randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { EMAIL_FOLD_VERSION, foldEmail, userIdOfStream } from '../domain/values.js';
import { userEmailOf, type PersonalDataKeys } from '../eventstore/codec.js';
import type { EventStore } from '../eventstore/port.js';
import { MongoIncoherentAnswerError } from './mongo.js';
import { openDatabase } from './openDatabase.js';
import { sqliteFileOf, type SqliteFile } from './sqliteFile.js';
import type { Sealed, TokenCipher } from './tokenCipher.js';

// Other instances learn of an erasure at the latest this long after it.
const CACHE_MS = 5 * 60 * 1000;
// Keys kept unwrapped in memory (the most recently used).
const CACHE_SIZE = 10_000;
// The key of the email index is kept in the same table, under a name no user id has.
const EMAIL_INDEX_KEY = '$email-index';

/** The bytes in memory of their own (not a slice of Node's shared pool). */
const ownCopy = (bytes: Buffer): Buffer => {
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
};

/** Where the sealed keys and the email index live: SQLite or MongoDB. */
interface KeyTable {
  read(userIds: string[]): Promise<Map<string, Sealed>>;
  /**
   * Stores the key unless one is there already; returns the one stored (the very object
   * given when it went in), or null when the user's key was destroyed (a destroyed key is
   * never made again).
   */
  insert(userId: string, sealed: Sealed): Promise<Sealed | null>;
  /** Removes the key for good, and the user's email index entries. */
  remove(userId: string): Promise<void>;
  addEmail(userId: string, hash: string): Promise<void>;
  usersWithEmail(hash: string): Promise<string[]>;
}

/**
 * Per-user data keys, each sealed with the service's keyring (TOKEN_ENCRYPTION_KEY), with
 * a small cache. Destroying a user's key erases that user's personal data from the log.
 * Emails are indexed by a keyed hash (HMAC-SHA256 under a key of the table's own), and
 * a user's entries go with the user's key.
 */
const dataKeys = (table: KeyTable, cipher: TokenCipher): PersonalDataKeys => {
  const cache = new Map<string, { key: Buffer | null; at: number }>();
  const context = (userId: string) => `data-key:${userId}`;
  const unwrap = (userId: string, sealed: Sealed) =>
    Buffer.from(cipher.decrypt(sealed, context(userId)), 'base64');
  const remember = (userId: string, key: Buffer | null) => {
    cache.delete(userId);
    // A key in memory of its own: a small Buffer is a slice of a shared 8 KB slab, and a
    // cached slice would keep the whole slab alive for as long as the key is cached.
    cache.set(userId, { key: key && ownCopy(key), at: Date.now() });
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  };

  const existingKeys = async (userIds: string[]): Promise<Map<string, Buffer | null>> => {
    const found = new Map<string, Buffer | null>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const hit = cache.get(userId);
      if (hit && Date.now() - hit.at < CACHE_MS) found.set(userId, hit.key);
      else missing.push(userId);
    }
    if (missing.length > 0) {
      const sealed = await table.read(missing);
      for (const userId of missing) {
        const row = sealed.get(userId);
        const key = row ? unwrap(userId, row) : null;
        remember(userId, key);
        found.set(userId, key);
      }
    }
    return found;
  };

  const keyFor = async (userId: string): Promise<Buffer> => {
    const known = (await existingKeys([userId])).get(userId);
    if (known) return known;
    const fresh = randomBytes(32);
    const sealed = cipher.encrypt(fresh.toString('base64'), context(userId));
    const stored = await table.insert(userId, sealed);
    // Erased: a command that lost the race with the erasure may still seal data for the
    // user (its append then fails). A key nobody keeps erases that data at once; a key
    // made again would make the user's older data unreadable instead of "[erased]".
    if (!stored) return fresh;
    // Ours went in (the usual case), or another request's key for this user was first.
    const key = stored === sealed ? fresh : unwrap(userId, stored);
    remember(userId, key);
    return key;
  };

  let indexKey: Promise<Buffer> | null = null;
  const emailHash = async (email: string): Promise<string> => {
    indexKey ??= keyFor(EMAIL_INDEX_KEY);
    return createHmac('sha256', await indexKey)
      .update(foldEmail(email))
      .digest('base64url');
  };

  return {
    keyFor,
    existingKeys,
    destroy: async (userId) => {
      await table.remove(userId);
      remember(userId, null);
    },
    indexEmail: async (userId, email) => table.addEmail(userId, await emailHash(email)),
    usersWithEmail: async (email) => table.usersWithEmail(await emailHash(email)),
  };
};

/** Indexes every user email in the log (read with personal data opened). */
const indexLog = async (keys: PersonalDataKeys, log: EventStore): Promise<void> => {
  let after: bigint | null = null;
  for (;;) {
    const page = await log.readAll({ after, limit: 5000 });
    if (page.length === 0) return;
    await Promise.all(
      page.map((event) => {
        const userId = userIdOfStream(event.stream);
        const email = userId ? userEmailOf(event) : null;
        return email === null ? null : keys.indexEmail(userId!, email);
      }),
    );
    after = page.at(-1)!.position;
  }
};

/**
 * In the SQLite file beside the read model. Writes that arrive in the same turn of the
 * event loop are committed together (a registration's key and email, and those of every
 * other registration of that moment: one fsync). `secure_delete` overwrites a destroyed
 * key's bytes, and the write-ahead log is truncated after it, so no copy stays on disk.
 */
export const openSqliteDataKeys = (
  file: string | SqliteFile,
  cipher: TokenCipher,
): PersonalDataKeys & {
  emailIndexReady(log: EventStore): Promise<void>;
  close(): Promise<void>;
} => {
  const { sqlite, owned } = sqliteFileOf(file);
  const { db, write } = sqlite;
  db.pragma('secure_delete = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS data_keys (
      user_id TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      iv BLOB NOT NULL,
      tag BLOB NOT NULL,
      ciphertext BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS email_index (
      hash TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY (hash, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS email_index_user ON email_index (user_id);
    CREATE TABLE IF NOT EXISTS email_index_built (at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS destroyed_keys (user_id TEXT PRIMARY KEY) WITHOUT ROWID;
  `);
  // Marks made before the fold was versioned were made with the first one.
  const markColumns = db.prepare('PRAGMA table_info(email_index_built)').all();
  if (!markColumns.some((column) => (column as { name: string }).name === 'fold')) {
    db.exec('ALTER TABLE email_index_built ADD COLUMN fold INTEGER NOT NULL DEFAULT 1');
  }
  type Row = {
    user_id: string;
    key_id: string;
    iv: Buffer;
    tag: Buffer;
    ciphertext: Buffer;
  };
  const select = db.prepare<[string], Row>(
    `SELECT user_id, key_id, iv, tag, ciphertext FROM data_keys
     WHERE user_id IN (SELECT value FROM json_each(?))`,
  );
  const insert = db.prepare(
    `INSERT INTO data_keys (user_id, key_id, iv, tag, ciphertext)
     SELECT ?, ?, ?, ?, ?
     WHERE NOT EXISTS (SELECT 1 FROM destroyed_keys WHERE user_id = ?)
     ON CONFLICT (user_id) DO NOTHING`,
  );
  const addEmail = db.prepare(
    'INSERT INTO email_index (hash, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
  );
  const emailUsers = db.prepare<[string], { user_id: string }>(
    'SELECT user_id FROM email_index WHERE hash = ?',
  );
  const removeKey = db.prepare('DELETE FROM data_keys WHERE user_id = ?');
  const markDestroyed = db.prepare(
    'INSERT INTO destroyed_keys (user_id) VALUES (?) ON CONFLICT DO NOTHING',
  );
  const builtWith = db.prepare('SELECT 1 FROM email_index_built WHERE fold = ?');
  const markBuilt = db.prepare('INSERT INTO email_index_built (at, fold) VALUES (?, ?)');
  const removeEmails = db.prepare('DELETE FROM email_index WHERE user_id = ?');

  const selectOne = db.prepare<[string], Row>(
    'SELECT user_id, key_id, iv, tag, ciphertext FROM data_keys WHERE user_id = ?',
  );
  const read = (userIds: string[]): Map<string, Sealed> =>
    new Map(
      (userIds.length === 1
        ? selectOne.all(userIds[0]!)
        : select.all(JSON.stringify(userIds))
      ).map((row) => [
        row.user_id,
        { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext },
      ]),
    );

  const keys = dataKeys(
    {
      read: async (userIds) => read(userIds),
      insert: async (userId, sealed) => {
        const { changes } = await write(() =>
          insert.run(
            userId,
            sealed.keyId,
            sealed.iv,
            sealed.tag,
            sealed.ciphertext,
            userId,
          ),
        );
        return changes === 1 ? sealed : (read([userId]).get(userId) ?? null);
      },
      remove: async (userId) => {
        await write(() => {
          removeKey.run(userId);
          markDestroyed.run(userId);
          removeEmails.run(userId);
        });
        db.pragma('wal_checkpoint(TRUNCATE)');
      },
      addEmail: async (userId, hash) => {
        await write(() => addEmail.run(hash, userId));
      },
      usersWithEmail: async (hash) => emailUsers.all(hash).map((row) => row.user_id),
    },
    cipher,
  );
  return {
    ...keys,
    /**
     * Makes sure the email index covers the whole log with hashes of the current fold
     * (see foldEmail): data directories written before it existed, or indexed with an
     * older fold, get it made again once, from the log with personal data opened. Called
     * at start, before anything is written.
     */
    emailIndexReady: async (log: EventStore) => {
      if (builtWith.get(EMAIL_FOLD_VERSION)) return;
      await write(() =>
        db.exec('DELETE FROM email_index; DELETE FROM email_index_built;'),
      );
      await indexLog(keys, log);
      markBuilt.run(new Date().toISOString(), EMAIL_FOLD_VERSION);
    },
    close: async () => {
      if (owned) await sqlite.close();
    },
  };
};

/** A user's sealed key; once destroyed, a row with `destroyed` only, kept for good. */
interface KeyRow {
  _id: string;
  keyId?: string;
  iv?: Buffer;
  tag?: Buffer;
  ciphertext?: Buffer;
  destroyed?: true;
}

const bytes = (value: unknown): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from((value as { buffer: Uint8Array }).buffer);

/** In MongoDB, shared by every instance. */
export const createMongoDataKeys = (db: Db, cipher: TokenCipher): PersonalDataKeys => {
  const rows = db.collection<KeyRow>('dataKeys');
  const emails = db.collection<{ _id: string; hash: string; userId: string }>(
    'emailIndex',
  );
  const read = async (userIds: string[]): Promise<Map<string, Sealed>> => {
    // In one reply (see byIds in projections/mongo.ts: a cursor left open between replies
    // holds a FerretDB connection).
    const found = await rows
      .find(
        { _id: { $in: userIds }, destroyed: { $ne: true } },
        { batchSize: userIds.length + 1 },
      )
      .toArray();
    const asked = new Set(userIds);
    const keys = new Map<string, Sealed>();
    for (const row of found) {
      if (!asked.has(row._id) || !row.keyId || !row.iv || !row.tag || !row.ciphertext)
        throw new MongoIncoherentAnswerError(
          'a data key it was not asked for, or a part of one',
        );
      keys.set(row._id, {
        keyId: row.keyId,
        iv: bytes(row.iv),
        tag: bytes(row.tag),
        ciphertext: bytes(row.ciphertext),
      });
    }
    return keys;
  };
  const ignoreDuplicate = (error: unknown) => {
    if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
  };
  return dataKeys(
    {
      read,
      insert: async (userId, sealed) => {
        try {
          await rows.insertOne({ _id: userId, ...sealed });
          return sealed;
        } catch (error) {
          ignoreDuplicate(error);
        }
        return (await read([userId])).get(userId) ?? null;
      },
      remove: async (userId) => {
        // The mark takes the key's place: an insert of a new key then finds it there.
        const mark = () =>
          rows.replaceOne({ _id: userId }, { destroyed: true }, { upsert: true });
        await mark().catch((error: unknown) => {
          ignoreDuplicate(error);
          return mark();
        });
        await emails.deleteMany({ userId });
      },
      addEmail: async (userId, hash) => {
        await emails
          .insertOne({ _id: `${hash}:${userId}`, hash, userId })
          .catch(ignoreDuplicate);
      },
      usersWithEmail: async (hash) =>
        (await emails.find({ hash }).toArray()).map((row) => row.userId),
    },
    cipher,
  );
};

/**
 * Stores many users' keys and emails in bulk (the benchmarks' generated logs). Each key is
 * sealed exactly as `keyFor` seals it, each email indexed as `indexEmail` does.
 */
export const importSqliteDataKeys = async (
  file: string,
  cipher: TokenCipher,
  keys: Iterable<[userId: string, key: Buffer]>,
  emails: [userId: string, email: string][],
): Promise<void> => {
  const store = openSqliteDataKeys(file, cipher);
  try {
    // Marked as built first (from no log): a fill would start by emptying the index.
    await store.emailIndexReady({ readAll: async () => [] } as unknown as EventStore);
    // Queued in one turn of the event loop, so committed together.
    await Promise.all(emails.map(([userId, email]) => store.indexEmail(userId, email)));
  } finally {
    await store.close();
  }
  const db = openDatabase(file);
  try {
    const insert = db.prepare(
      'INSERT INTO data_keys (user_id, key_id, iv, tag, ciphertext) VALUES (?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const [userId, key] of keys) {
        const sealed = cipher.encrypt(key.toString('base64'), `data-key:${userId}`);
        insert.run(userId, sealed.keyId, sealed.iv, sealed.tag, sealed.ciphertext);
      }
    })();
  } finally {
    db.close();
  }
};
