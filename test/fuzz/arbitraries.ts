import fc from 'fast-check';

/**
 * Generators of hostile input shared by the fuzz suites: strings that break naive code
 * (control characters, lone surrogates, direction overrides, percent signs, very long
 * ones), JSON of every shape, header values, path segments and query strings.
 */

// Pieces that have broken parsers, validators, logs and stores somewhere.
const FRAGMENTS = [
  '',
  ' ',
  '\u0000',
  '\t',
  '\n',
  '\r\n',
  '\u007f',
  '\u0085',
  '\u200b',
  '\u202e',
  '\u2066',
  '\ufeff',
  '\ud800',
  '\udfff',
  '😀',
  'e\u0301',
  'İ',
  'ß',
  'ﬃ',
  '%',
  '%00',
  '%ZZ',
  '%ED%A0%80',
  '..',
  '/',
  '\\',
  '"',
  "'",
  '<script>',
  '&amp;',
  '__proto__',
  'constructor',
  'toString',
  '$where',
  '{"$gt":""}',
  'a.b',
  'null',
  '-1',
  '1e400',
  'NaN',
  '0x10',
  '@',
  'a@b',
  'user@example.com',
];

/** Any text, biased towards the troublesome. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc
    .array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join('')),
  fc
    .tuple(
      fc.constantFrom('x', '😀', '\u0000', 'é'),
      fc.constantFrom(199, 200, 201, 255, 256, 257, 320, 321, 1024, 1025, 5000),
    )
    .map(([piece, times]) => piece.repeat(times)),
);

/** Any JSON value, hostile strings included. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(-1, 2 ** 53, Number.MAX_VALUE, 1e-300, -0),
    hostileString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A body as sent; huge and deeply nested ones are made at send time, not printed. */
export type BodySpec =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'deep'; depth: number }
  | { kind: 'huge'; bytes: number };

export const bodyText = (body: BodySpec): string => {
  switch (body.kind) {
    case 'json':
      return JSON.stringify(body.value) ?? '';
    case 'text':
      return body.text;
    case 'deep':
      return `${'['.repeat(body.depth)}${']'.repeat(body.depth)}`;
    case 'huge':
      return JSON.stringify({ padding: 'x'.repeat(body.bytes) });
  }
};

/** Bodies that are not a plain command: malformed, odd JSON, very deep, too large. */
export const oddBody: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 4, arbitrary: anyJson.map((value) => ({ kind: 'json' as const, value })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        hostileString,
        fc.constantFrom(
          '',
          '{',
          '{"a":1,}',
          "{'a':1}",
          '[1,2',
          'nul',
          '\ufeff{}',
          '{}{}',
        ),
      )
      .map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(20, 1_000, 100_000, 400_000)
      .map((depth) => ({ kind: 'deep' as const, depth })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: 'huge' as const, bytes: 1_100_000 }),
  },
);

/** Text a fetch may put in a header: no CR, LF or NUL; Latin-1 bytes allowed. */
export const headerValue: fc.Arbitrary<string> = fc.string({
  unit: fc
    .oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constant(0x09),
    )
    .map((code) => String.fromCharCode(code)),
  maxLength: 300,
});

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'application/vnd.example+json',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json, text/plain',
  '*/*',
  'json',
];

/** Percent-encodes any text for a path or query; lone surrogates as their raw bytes. */
export const encode = (text: string): string =>
  [...text]
    .map((char) =>
      /^[\ud800-\udfff]$/.test(char) ? '%ED%A0%80' : encodeURIComponent(char),
    )
    .join('');

/** Path segments and query values that are not valid, or not what they seem. */
export const RAW_SEGMENTS = [
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%00',
  '%0A',
  '%2F',
  '%2e%2e',
  '%C0%AF',
  '%FF',
  '~',
  'a;b=c',
  '%20',
  '+',
];

/** A path segment: one of the known values, any text encoded, or a raw odd one. */
export const segment = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...known).map(encode) },
    { weight: 2, arbitrary: hostileString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );

/** A query string from name and value pairs (names repeat; values may be raw). */
export const queryOf = (pairs: [string, string][]): string =>
  pairs.length === 0
    ? ''
    : `?${pairs.map(([name, value]) => `${encode(name)}=${value}`).join('&')}`;

/** A query parameter's value: a known one, any text encoded, or a raw odd one. */
export const queryValue = (known: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: known.map(encode) },
    { weight: 1, arbitrary: hostileString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );

/** `minPosition`: none, a reachable one, one beyond the log, or not a position. */
export const minPositionPairs: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
  {
    weight: 2,
    arbitrary: fc
      .nat({ max: 20 })
      .map((n): [string, string][] => [['minPosition', String(n)]]),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('1'.repeat(40), '99999999', '18446744073709551616')
      .map((n): [string, string][] => [['minPosition', n]]),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom('-1', '1.5', '0x10', '%201', '', '1'.repeat(41), '1e3'),
        hostileString.map(encode),
      )
      .map((n): [string, string][] => [['minPosition', n]]),
  },
  {
    weight: 1,
    arbitrary: fc.constant<[string, string][]>([
      ['minPosition', '1'],
      ['minPosition', '2'],
    ]),
  },
);

/** An email-ish value: real addresses, known ones, and everything that is not one. */
export const emailish = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.emailAddress() },
    { weight: 2, arbitrary: fc.constantFrom(...known) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        ' FUZZ.ONE@EXAMPLE.COM ',
        'a@b',
        'not an email',
        '@',
        'a@',
        '@b.c',
        'a@b@c.d',
        'a b@c.d',
        'a@exa\u0000mple.com',
        '用户@例子.广告',
        `${'a'.repeat(320)}@example.com`,
      ),
    },
    { weight: 1, arbitrary: hostileString },
  );

/** A value once in `times` cases, else null. */
export const sometimes = <T>(
  value: fc.Arbitrary<T>,
  times: number,
): fc.Arbitrary<T | null> =>
  fc.oneof(
    { weight: times - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: value },
  );

/** A value for a field: mostly the right kind, sometimes any JSON at all. */
export const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: anyJson });
