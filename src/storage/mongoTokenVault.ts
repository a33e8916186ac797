import { MongoServerError, type Binary, type Db } from 'mongodb';
import { identityKeyOf } from '../domain/values.js';
import type { TokenCipher } from './tokenCipher.js';
import type { ProviderTokens, TokenVault } from './tokenVault.js';

interface Row {
  _id: string;
  provider: string;
  subject: string;
  keyId: string;
  iv: Binary | Buffer;
  tag: Binary | Buffer;
  ciphertext: Binary | Buffer;
  scopes: string[];
  expiresAt: Date | null;
  updatedAt: Date;
}

const bytes = (value: Binary | Buffer): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer);

/** The token vault in MongoDB: the same sealing as the SQLite one (see tokenVault.ts). */
export const createMongoTokenVault = (db: Db, cipher: TokenCipher): TokenVault => {
  const tokens = db.collection<Row>('providerTokens');
  return {
    put: async (identity, value: ProviderTokens) => {
      const key = identityKeyOf(identity);
      const sealed = cipher.encrypt(
        JSON.stringify({ a: value.accessToken, r: value.refreshToken }),
        key,
      );
      const upsert = () =>
        tokens.replaceOne(
          { _id: key },
          {
            provider: identity.provider,
            subject: identity.subject,
            keyId: sealed.keyId,
            iv: sealed.iv,
            tag: sealed.tag,
            ciphertext: sealed.ciphertext,
            scopes: value.scopes,
            expiresAt: value.expiresAt,
            updatedAt: new Date(),
          },
          { upsert: true },
        );
      // Two upserts of one new identity at once (two first sign-ins): the one that lost
      // the insert finds the document on its second try, and replaces it.
      await upsert().catch((error: unknown) => {
        if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
        return upsert();
      });
    },
    get: async (identity) => {
      const key = identityKeyOf(identity);
      const row = await tokens.findOne({ _id: key });
      if (!row) return null;
      const secret = JSON.parse(
        cipher.decrypt(
          {
            keyId: row.keyId,
            iv: bytes(row.iv),
            tag: bytes(row.tag),
            ciphertext: bytes(row.ciphertext),
          },
          key,
        ),
      ) as { a: string; r: string | null };
      return {
        accessToken: secret.a,
        refreshToken: secret.r,
        scopes: row.scopes,
        expiresAt: row.expiresAt,
      };
    },
    remove: async (identity) => {
      await tokens.deleteOne({ _id: identityKeyOf(identity) });
    },
    entries: async () =>
      (
        await tokens
          .find({}, { projection: { provider: 1, subject: 1, updatedAt: 1 } })
          .toArray()
      ).map((row) => ({
        identity: { provider: row.provider, subject: row.subject },
        updatedAt: row.updatedAt,
      })),
    removeIfOlder: async (identity, before) =>
      (
        await tokens.deleteOne({
          _id: identityKeyOf(identity),
          updatedAt: { $lt: before },
        })
      ).deletedCount > 0,
    close: async () => {},
  };
};
