import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AccountLinkingError } from '../domain/errors.js';
import { characters, isWellFormed } from '../domain/values.js';

const KEY_LENGTH = 32;

/**
 * The rules every password meets, whatever door it came through: 8 to 1024 characters,
 * not blank, well-formed text. (The HTTP layer says the same to its callers first.)
 */
export const assertAcceptablePassword = (password: string): void => {
  const count = characters(password);
  if (count < 8 || count > 1024 || password.trim() === '' || !isWellFormed(password)) {
    throw new AccountLinkingError('validation-failed', 'the password is not acceptable', {
      errors: [{ path: 'password', message: '8 to 1024 characters, not blank' }],
    });
  }
};

const derive = (
  password: string,
  salt: Buffer,
  options: ScryptOptions,
): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );

const optionsFor = (cost: number): ScryptOptions => ({
  N: 2 ** cost,
  r: 8,
  p: 1,
  // scrypt needs 128 * N * r bytes; leave headroom over Node's 32 MiB default.
  maxmem: 256 * 2 ** cost * 8,
});

/**
 * Hashes a password with scrypt (node:crypto). The result names its parameters, so the
 * cost can be raised later without breaking stored hashes.
 */
export const hashPassword = async (password: string, cost: number): Promise<string> => {
  const salt = randomBytes(16);
  const key = await derive(password, salt, optionsFor(cost));
  return `scrypt$${cost}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
};

export const verifyPassword = async (
  password: string,
  stored: string,
): Promise<boolean> => {
  const [scheme, cost, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !cost || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), {
    ...optionsFor(Number(cost)),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};
