import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { PersonalDataKeys } from '../eventstore/codec.js';
import { openDatabase } from './openDatabase.js';
import type { Sealed, TokenCipher } from './tokenCipher.js';

// Other instances learn of an erasure at the latest this long after it.
const CACHE_MS = 5 * 60 * 1000;

interface KeyTable {
  read(userId: string): Promise<Sealed | null>;
  /** Stores the key unless one is there already; returns the one that is. */
  insert(userId: string, sealed: Sealed): Promise<Sealed>;
  remove(userId: string): Promise<void>;
}

/**
 * Per-user data keys, each sealed with the service's keyring (TOKEN_ENCRYPTION_KEY), and a
 * short cache. Destroying a user's key erases that user's personal data from the log.
 */
const dataKeys = (table: KeyTable, cipher: TokenCipher): PersonalDataKeys => {
  const cache = new Map<string, { key: Buffer | null; at: number }>();
  const context = (userId: string) => `data-key:${userId}`;
  const unwrap = (userId: string, sealed: Sealed) =>
    Buffer.from(cipher.decrypt(sealed, context(userId)), 'base64');
  const cached = (userId: string) => {
    const hit = cache.get(userId);
    return hit && Date.now() - hit.at < CACHE_MS ? hit : null;
  };

  const existingKey = async (userId: string): Promise<Buffer | null> => {
    const hit = cached(userId);
    if (hit) return hit.key;
    const sealed = await table.read(userId);
    const key = sealed ? unwrap(userId, sealed) : null;
    cache.set(userId, { key, at: Date.now() });
    return key;
  };

  return {
    existingKey,
    keyFor: async (userId) => {
      const known = await existingKey(userId);
      if (known) return known;
      const fresh = randomBytes(32);
      const stored = await table.insert(
        userId,
        cipher.encrypt(fresh.toString('base64'), context(userId)),
      );
      const key = unwrap(userId, stored);
      cache.set(userId, { key, at: Date.now() });
      return key;
    },
    destroy: async (userId) => {
      await table.remove(userId);
      cache.set(userId, { key: null, at: Date.now() });
    },
  };
};

/**
 * In the SQLite file beside the read model. `secure_delete` overwrites a destroyed key's
 * bytes, and the write-ahead log is truncated after it, so no copy stays on disk.
 */
export const openSqliteDataKeys = (
  file: string,
  cipher: TokenCipher,
): PersonalDataKeys & { close(): void } => {
  const db = openDatabase(file);
  db.pragma('secure_delete = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS data_keys (
      user_id TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      iv BLOB NOT NULL,
      tag BLOB NOT NULL,
      ciphertext BLOB NOT NULL
    );
  `);
  const select = db.prepare<
    [string],
    { key_id: string; iv: Buffer; tag: Buffer; ciphertext: Buffer }
  >('SELECT key_id, iv, tag, ciphertext FROM data_keys WHERE user_id = ?');
  const insert = db.prepare(
    'INSERT INTO data_keys (user_id, key_id, iv, tag, ciphertext) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING',
  );
  const remove = db.prepare('DELETE FROM data_keys WHERE user_id = ?');
  const read = (userId: string): Sealed | null => {
    const row = select.get(userId);
    return row
      ? { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext }
      : null;
  };
  const keys = dataKeys(
    {
      read: async (userId) => read(userId),
      insert: async (userId, sealed) => {
        insert.run(userId, sealed.keyId, sealed.iv, sealed.tag, sealed.ciphertext);
        return read(userId)!;
      },
      remove: async (userId) => {
        remove.run(userId);
        db.pragma('wal_checkpoint(TRUNCATE)');
      },
    },
    cipher,
  );
  return { ...keys, close: () => db.close() };
};

interface KeyRow {
  _id: string;
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

const bytes = (value: unknown): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from((value as { buffer: Uint8Array }).buffer);

/** In MongoDB, shared by every instance. */
export const createMongoDataKeys = (db: Db, cipher: TokenCipher): PersonalDataKeys => {
  const rows = db.collection<KeyRow>('dataKeys');
  const read = async (userId: string): Promise<Sealed | null> => {
    const row = await rows.findOne({ _id: userId });
    return row
      ? {
          keyId: row.keyId,
          iv: bytes(row.iv),
          tag: bytes(row.tag),
          ciphertext: bytes(row.ciphertext),
        }
      : null;
  };
  return dataKeys(
    {
      read,
      insert: async (userId, sealed) => {
        try {
          await rows.insertOne({ _id: userId, ...sealed });
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
        }
        return (await read(userId))!;
      },
      remove: async (userId) => {
        await rows.deleteOne({ _id: userId });
      },
    },
    cipher,
  );
};
