import { describe, expect, it } from 'vitest';
import {
  foldEmail,
  identityOfStream,
  isValidSubject,
  streams,
} from '../../src/domain/values.js';

describe('emails', () => {
  it('match after trimming, with ASCII letters in any case', () => {
    expect(foldEmail('  Kim@Example.ORG ')).toBe(foldEmail('kim@example.org'));
  });

  it('lose ASCII blanks at their ends and no other space', () => {
    expect(foldEmail('\t kim@example.org \n')).toBe('kim@example.org');
    for (const space of ['\u3000', '\u00a0', '\ufeff', '\u2028']) {
      expect(foldEmail(`kim@example.org${space}`)).not.toBe('kim@example.org');
      expect(foldEmail(`${space}kim@example.org`)).not.toBe('kim@example.org');
    }
  });

  it('compare other code points exactly, even canonically equivalent ones', () => {
    const composed = 'jos\u00e9@example.org';
    const decomposed = 'jose\u0301@example.org';
    expect(composed.normalize('NFC')).toBe(decomposed.normalize('NFC'));
    expect(foldEmail(composed)).not.toBe(foldEmail(decomposed));
  });

  // Each pair is two mailboxes that Unicode case mapping or NFKC would make one: a
  // provider's verified look-alike must not link to someone else's account.
  it.each([
    ['the Kelvin sign', '\u212Aim@example.org', 'kim@example.org'],
    ['fullwidth letters', '\uff4b\uff49\uff4d@example.org', 'kim@example.org'],
    ['the dotless i', 'm\u0131ke@example.org', 'mike@example.org'],
    ['the sharp s', 'stra\u00dfe@example.org', 'STRASSE@example.org'],
  ])('do not match look-alikes: %s', (_, lookalike, address) => {
    expect(foldEmail(lookalike)).not.toBe(foldEmail(address));
  });

  it('compare letters outside ASCII exactly, case included', () => {
    expect(foldEmail('\u00c4nn@example.org')).not.toBe(foldEmail('\u00e4nn@example.org'));
    expect(foldEmail('\u00e4nn@B\u00fccher.DE')).toBe(
      foldEmail('\u00e4nn@b\u00fccher.de'),
    );
  });
});

describe('subjects', () => {
  it('are any 1 to 256 characters without control characters', () => {
    expect(isValidSubject('1234')).toBe(true);
    expect(isValidSubject('..')).toBe(true);
    expect(isValidSubject('')).toBe(false);
    expect(isValidSubject('a'.repeat(257))).toBe(false);
    expect(isValidSubject('a\nb')).toBe(false);
  });

  it('make safe stream names that decode back exactly', () => {
    for (const subject of ['1234', 'Ann', 'ann', '../..', 'a-b_c', 'ü/✓ 👩‍💻']) {
      const stream = streams.identity({ provider: 'github', subject });
      expect(stream).toMatch(/^identity-github-[A-Za-z0-9_-]+$/);
      expect(identityOfStream(stream)).toEqual({ provider: 'github', subject });
    }
    expect(streams.identity({ provider: 'github', subject: 'Ann' })).not.toBe(
      streams.identity({ provider: 'github', subject: 'ann' }),
    );
  });

  it('keep usernames out of stream names, unique after folding', () => {
    expect(streams.username('Ann')).toBe(streams.username('ann'));
    expect(streams.username('ann')).not.toContain('ann');
  });

  it('fold usernames more broadly than emails: a look-alike name is taken', () => {
    expect(streams.username('\u212Aim')).toBe(streams.username('kim'));
    expect(streams.username('stra\u00dfe')).toBe(streams.username('STRASSE'));
  });
});
