import { sqliteFileOf, type SqliteFile } from './sqliteFile.js';
import { identityKeyOf, type IdentityKey } from '../domain/values.js';
import type { TokenCipher } from './tokenCipher.js';

/** A provider's tokens for one identity. Secrets: they never enter events or logs. */
export interface ProviderTokens {
  accessToken: string;
  refreshToken: string | null;
  scopes: string[];
  expiresAt: Date | null;
}

export interface TokenVault {
  put(identity: IdentityKey, tokens: ProviderTokens): Promise<void>;
  get(identity: IdentityKey): Promise<ProviderTokens | null>;
  remove(identity: IdentityKey): Promise<void>;
  /** Every identity with tokens, and when they were last stored. */
  entries(): Promise<{ identity: IdentityKey; updatedAt: Date }[]>;
  /** Removes the tokens unless they were stored again after `before`. */
  removeIfOlder(identity: IdentityKey, before: Date): Promise<boolean>;
  close(): Promise<void>;
}

interface Row {
  key_id: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
  scopes: string;
  expires_at: number | null;
}

/**
 * The token vault in a SQLite file of the data directory. Access and refresh tokens are
 * sealed together with AES-256-GCM, bound to their identity; scopes and expiry are not
 * secret and stay readable.
 */
export const openSqliteTokenVault = (
  file: string | SqliteFile,
  cipher: TokenCipher,
): TokenVault => {
  const { sqlite, owned } = sqliteFileOf(file);
  const { db, write } = sqlite;
  db.exec(`
    CREATE TABLE IF NOT EXISTS provider_tokens (
      identity TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      iv BLOB NOT NULL,
      tag BLOB NOT NULL,
      ciphertext BLOB NOT NULL,
      scopes TEXT NOT NULL,
      expires_at INTEGER,
      updated_at INTEGER NOT NULL
    );
  `);
  const upsert = db.prepare(
    `INSERT INTO provider_tokens
       (identity, key_id, iv, tag, ciphertext, scopes, expires_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (identity) DO UPDATE SET key_id = excluded.key_id, iv = excluded.iv,
       tag = excluded.tag, ciphertext = excluded.ciphertext, scopes = excluded.scopes,
       expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
  );
  const select = db.prepare<[string], Row>(
    'SELECT * FROM provider_tokens WHERE identity = ?',
  );
  const remove = db.prepare('DELETE FROM provider_tokens WHERE identity = ?');
  const removeOlder = db.prepare(
    'DELETE FROM provider_tokens WHERE identity = ? AND updated_at < ?',
  );
  const list = db.prepare<[], { identity: string; updated_at: number }>(
    'SELECT identity, updated_at FROM provider_tokens',
  );

  return {
    put: async (identity, tokens) => {
      const key = identityKeyOf(identity);
      const sealed = cipher.encrypt(
        JSON.stringify({ a: tokens.accessToken, r: tokens.refreshToken }),
        key,
      );
      await write(() =>
        upsert.run(
          key,
          sealed.keyId,
          sealed.iv,
          sealed.tag,
          sealed.ciphertext,
          JSON.stringify(tokens.scopes),
          tokens.expiresAt?.getTime() ?? null,
          Date.now(),
        ),
      );
    },
    get: async (identity) => {
      const key = identityKeyOf(identity);
      const row = select.get(key);
      if (!row) return null;
      const secret = JSON.parse(
        cipher.decrypt(
          { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext },
          key,
        ),
      ) as { a: string; r: string | null };
      return {
        accessToken: secret.a,
        refreshToken: secret.r,
        scopes: JSON.parse(row.scopes) as string[],
        expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
      };
    },
    remove: async (identity) => {
      await write(() => remove.run(identityKeyOf(identity)));
    },
    entries: async () =>
      list.all().map((row) => {
        const split = row.identity.indexOf(':');
        return {
          identity: {
            provider: row.identity.slice(0, split),
            subject: row.identity.slice(split + 1),
          },
          updatedAt: new Date(row.updated_at),
        };
      }),
    removeIfOlder: async (identity, before) =>
      (await write(() => removeOlder.run(identityKeyOf(identity), before.getTime())))
        .changes > 0,
    close: async () => {
      if (owned) await sqlite.close();
    },
  };
};
