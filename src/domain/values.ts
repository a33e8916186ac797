import { createHash } from 'node:crypto';

/** Providers known to the service. A registry, so more can be added in one place. */
export const PROVIDERS = ['github', 'google'] as const;
export type Provider = string;

export const MAX_SUBJECT_LENGTH = 256;
export const MAX_EMAIL_LENGTH = 320;
export const MAX_DISPLAY_NAME_LENGTH = 200;

// Control characters are never part of a provider id; refusing them keeps logs and
// stream names unambiguous.
const CONTROL = /\p{Cc}/u;
// In a `u` regex a surrogate pair is one code point, so this finds only lone halves.
const LONE_SURROGATE = /\p{Cs}/u;

// Control characters and the bidirectional overrides that can make a name display as
// something else (U+202A-U+202E, U+2066-U+2069).
// Lone surrogate halves go too.
const DISPLAY_CONTROLS = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/gu;

/** A display text without the characters that would let it print or show as another. */
export const plainText = (text: string): string => text.replace(DISPLAY_CONTROLS, '');

export const hasDisplayControls = (text: string): boolean => plainText(text) !== text;

/** Text that is well-formed Unicode: lone surrogates would make distinct ids look equal. */
export const isWellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

/** Length in characters (code points), not UTF-16 units. */
export const characters = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

export const isValidSubject = (subject: string): boolean =>
  subject.length > 0 &&
  characters(subject) <= MAX_SUBJECT_LENGTH &&
  isWellFormed(subject) &&
  !CONTROL.test(subject);

/**
 * Two emails match only when they are the same address: trimmed of ASCII blanks, the ASCII letters A-Z
 * compared without case, in the local part and the domain, and every other code point
 * compared exactly. No Unicode normalisation or case mapping: each makes different
 * mailboxes equal. NFC turns the Kelvin sign K into K, NFKC a fullwidth ｋ into k, case
 * mapping the dotless ı into I and ß into SS (GitHub's dotless-i password-reset takeover).
 * An email match links accounts, so a look-alike address must never count as the same
 * one; the price is that the same address spelled with composed and decomposed accents is
 * not matched, which leaves two accounts that can be merged.
 */
export const foldEmail = (email: string): string =>
  trimEmail(email).replace(/[A-Z]+/g, (letters) => letters.toLowerCase());

/**
 * Emails lose ASCII blanks at their ends, and nothing else: `trim()` would also take an
 * ideographic space, a no-break space or a byte-order mark, and a look-alike padded with
 * one would match (and be stored as) the plain address.
 */
export const trimEmail = (email: string): string =>
  email.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');

/**
 * Bumped whenever `foldEmail` changes: what was stored folded (the key store's email
 * index, the MongoDB read model's `emailFolded`) is folded again at start.
 * 1: NFKC and Unicode case mapping; 2: ASCII case only.
 */
export const EMAIL_FOLD_VERSION = 2;

/**
 * Usernames are unique after the broader folding (NFKC, then Unicode upper- and
 * lower-casing, which folds ß, ſ and the Kelvin sign): for uniqueness, refusing a name
 * that looks like a taken one is the safe side, and signing in still needs the password.
 * It names the username's guard stream, so changing it would orphan existing names.
 */
export const foldUsername = (username: string): string =>
  username.trim().normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');

export interface IdentityKey {
  provider: Provider;
  subject: string;
}

export const identityKeyOf = ({ provider, subject }: IdentityKey): string =>
  `${provider}:${subject}`;

export const sameIdentity = (a: IdentityKey, b: IdentityKey): boolean =>
  a.provider === b.provider && a.subject === b.subject;

/** Stream names. Subjects are base64url-encoded so any string makes a safe name. */
export const streams = {
  user: (userId: string): string => `user-${userId}`,
  identity: ({ provider, subject }: IdentityKey): string =>
    `identity-${provider}-${Buffer.from(subject, 'utf8').toString('base64url')}`,
  // The username itself is personal data; a hash keeps it out of stream names, which
  // cannot be erased.
  username: (username: string): string =>
    `username-${createHash('sha256').update(foldUsername(username)).digest('hex')}`,
};

export const STREAM_PREFIXES = ['user-', 'identity-', 'username-'] as const;

export const userIdOfStream = (stream: string): string | null =>
  stream.startsWith('user-') ? stream.slice('user-'.length) : null;

export const identityOfStream = (stream: string): IdentityKey | null => {
  const match = /^identity-([a-z0-9]+)-([A-Za-z0-9_-]*)$/.exec(stream);
  if (!match) return null;
  return {
    provider: match[1] as string,
    subject: Buffer.from(match[2] as string, 'base64url').toString('utf8'),
  };
};
