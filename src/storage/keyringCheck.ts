import type Database from 'better-sqlite3';
import type { Binary, Db } from 'mongodb';
import type { Sealed, TokenCipher } from './tokenCipher.js';

/** One item sealed under a key id: a user's data key, or an identity's provider tokens. */
export interface SealedSample {
  what: 'data key' | 'provider tokens';
  sealed: Sealed;
  /** What it was bound to when sealed (the additional authenticated data). */
  context: string;
}

/** The message names the variable and the way out; no key material is in it. */
export class KeyringMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringMismatchError';
  }
}

/**
 * Refuses to start when `TOKEN_ENCRYPTION_KEY` cannot open what is already stored: one
 * item per key id in use is opened. Without this, a changed key made every read of a
 * person answer 500 while `/readyz` said ready.
 */
export const assertKeyringOpens = (
  cipher: TokenCipher,
  samples: SealedSample[],
  where: string,
): void => {
  for (const sample of samples) {
    try {
      cipher.decrypt(sample.sealed, sample.context);
    } catch {
      const id = sample.sealed.keyId;
      throw new KeyringMismatchError(
        `TOKEN_ENCRYPTION_KEY cannot open the ${sample.what} already stored in ${where}: ` +
          `they were sealed with the key named "${id}", and TOKEN_ENCRYPTION_KEY ` +
          `${cipher.hasKey(id) ? `gives another key under that name` : `has no key of that name`}. ` +
          `To change keys, put the new key first and keep the old one under its name: ` +
          `TOKEN_ENCRYPTION_KEY=k2:<new key>,${id}:<old key>. A key given alone, and the ` +
          `generated development key (secrets.json in the data directory), are named k1.`,
      );
    }
  }
};

/** One sealed item per key id, from the SQLite key store and token vault. */
export const sqliteSealedSamples = (db: Database.Database): SealedSample[] => {
  // The first row sealed with each key id; `owner` names what the seal is bound to.
  const firstPerKey = (table: string, owner: string) =>
    db
      .prepare<
        [],
        { owner: string; key_id: string; iv: Buffer; tag: Buffer; ciphertext: Buffer }
      >(
        `SELECT ${owner} AS owner, key_id, iv, tag, ciphertext FROM ${table}
         WHERE rowid IN (SELECT min(rowid) FROM ${table} GROUP BY key_id)`,
      )
      .all()
      .map(({ owner, key_id: keyId, iv, tag, ciphertext }) => ({
        owner,
        sealed: { keyId, iv, tag, ciphertext },
      }));
  return [
    ...firstPerKey('data_keys', 'user_id').map(({ owner, sealed }) => ({
      what: 'data key' as const,
      sealed,
      context: `data-key:${owner}`,
    })),
    ...firstPerKey('provider_tokens', 'identity').map(({ owner, sealed }) => ({
      what: 'provider tokens' as const,
      sealed,
      context: owner,
    })),
  ];
};

interface MongoSealed {
  _id: string;
  keyId: string;
  iv: Binary | Buffer;
  tag: Binary | Buffer;
  ciphertext: Binary | Buffer;
}

const bytes = (value: Binary | Buffer): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer);

/** The same from MongoDB's `dataKeys` and `providerTokens` collections. */
export const mongoSealedSamples = async (db: Db): Promise<SealedSample[]> => {
  const sample = async (
    collection: string,
    what: SealedSample['what'],
    context: (id: string) => string,
  ): Promise<SealedSample[]> => {
    const rows = db.collection<MongoSealed>(collection);
    const ids = (await rows.distinct('keyId')).filter(
      (id): id is string => typeof id === 'string',
    );
    const found = await Promise.all(ids.map((keyId) => rows.findOne({ keyId })));
    return found
      .filter((row): row is NonNullable<typeof row> => row !== null)
      .map((row) => ({
        what,
        sealed: {
          keyId: row.keyId,
          iv: bytes(row.iv),
          tag: bytes(row.tag),
          ciphertext: bytes(row.ciphertext),
        },
        context: context(row._id),
      }));
  };
  return [
    ...(await sample('dataKeys', 'data key', (userId) => `data-key:${userId}`)),
    ...(await sample('providerTokens', 'provider tokens', (identity) => identity)),
  ];
};
