import { describe, expect, it } from 'vitest';
import {
  foldEmail,
  identityOfStream,
  isValidSubject,
  streams,
} from '../../src/domain/values.js';

describe('emails', () => {
  it('compare after trimming and case folding', () => {
    expect(foldEmail('  Ann@Example.COM ')).toBe(foldEmail('ann@example.com'));
    expect(foldEmail('STRASSE@example.com')).toBe(foldEmail('straße@example.com'));
    expect(foldEmail('ÄNN@bücher.de')).toBe(foldEmail('änn@BÜCHER.de'));
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
});
