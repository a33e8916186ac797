import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for OAuth tokens at rest. Keys carry an id, so a new key can be put first
 * (it encrypts from then on) while older ones still decrypt what they wrote.
 */
export interface TokenCipher {
  encrypt(plaintext: string, context: string): Sealed;
  decrypt(sealed: Sealed, context: string): string;
  hasKey(keyId: string): boolean;
}

export interface Sealed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export interface Keyring {
  current: string;
  keys: Map<string, Buffer>;
}

/**
 * `TOKEN_ENCRYPTION_KEY` is one base64 key of 32 bytes, or comma-separated
 * `id:base64key` entries, the first being the one that encrypts.
 */
export const parseKeyring = (value: string): Keyring => {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = new Map<string, Buffer>();
  for (const [index, entry] of entries.entries()) {
    const [id, material] = entry.includes(':')
      ? entry.split(':', 2)
      : [`k${index + 1}`, entry];
    const key = Buffer.from(material ?? '', 'base64');
    if (!id || key.length !== 32) {
      throw new Error(
        'TOKEN_ENCRYPTION_KEY: each key must be 32 bytes in base64 ' +
          '(make one with: openssl rand -base64 32)',
      );
    }
    keys.set(id, key);
  }
  if (keys.size === 0) throw new Error('TOKEN_ENCRYPTION_KEY: no key given');
  return { current: [...keys.keys()][0]!, keys };
};

export const createTokenCipher = (keyring: Keyring): TokenCipher => ({
  hasKey: (keyId) => keyring.keys.has(keyId),
  encrypt: (plaintext, context) => {
    const key = keyring.keys.get(keyring.current)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: keyring.current, iv, tag: cipher.getAuthTag(), ciphertext };
  },
  decrypt: (sealed, context) => {
    const key = keyring.keys.get(sealed.keyId);
    if (!key) throw new Error(`no key ${sealed.keyId} in TOKEN_ENCRYPTION_KEY`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString(
      'utf8',
    );
  },
});
