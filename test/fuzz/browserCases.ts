import fc from 'fast-check';
import type { DevFaults } from '../../src/devProvider/devProvider.js';
import type { RawAnswer } from '../support/providers.js';
import {
  anyJson,
  emailish,
  encode,
  hostileString,
  queryOf,
  RAW_SEGMENTS,
  sometimes,
} from './arbitraries.js';

export type ProviderName = 'github' | 'google';

// 1. Callbacks: what the browser brings back from the provider, or makes up.

/** The `state` of a callback, relative to the one the service gave (if it gave one). */
export type StateSpec =
  | { kind: 'none' }
  | { kind: 'real' }
  | { kind: 'real twice' }
  | { kind: 'real and more'; more: string }
  | { kind: 'forged'; value: string };

export interface CallbackCase {
  provider: string;
  state: StateSpec;
  code: string | null;
  error: string | null;
  /** More parameters, raw (names repeat; values may be odd). */
  extra: [string, string][];
}

const codeOrError = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map(encode) },
  { weight: 1, arbitrary: fc.constantFrom('', ...RAW_SEGMENTS) },
  { weight: 2, arbitrary: hostileString.map(encode) },
);

export const callbackCase = (
  providers: fc.Arbitrary<string>,
  state: fc.Arbitrary<StateSpec>,
): fc.Arbitrary<CallbackCase> =>
  fc.record({
    provider: providers,
    state,
    code: fc.oneof(fc.constant(null), codeOrError),
    error: fc.oneof(
      { weight: 4, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constant('access_denied') },
      { weight: 1, arbitrary: fc.constantFrom('server_error', 'invalid_scope') },
      { weight: 1, arbitrary: codeOrError },
    ),
    extra: fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('error_description', 'scope', 'iss', 'code', 'state', 'error'),
          hostileString,
        ),
        codeOrError,
      ),
      { maxLength: 3 },
    ),
  });

export const forgedState: fc.Arbitrary<StateSpec> = fc.oneof(
  fc.constant<StateSpec>({ kind: 'none' }),
  codeOrError.map((value): StateSpec => ({ kind: 'forged', value })),
);

export const anyState: fc.Arbitrary<StateSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<StateSpec>({ kind: 'real' }) },
  { weight: 1, arbitrary: fc.constant<StateSpec>({ kind: 'real twice' }) },
  {
    weight: 1,
    arbitrary: codeOrError.map((more): StateSpec => ({ kind: 'real and more', more })),
  },
  { weight: 2, arbitrary: forgedState },
);

/** The callback's path and query; `real` is the state the service handed out. */
export const callbackPath = (c: CallbackCase, real: string | null): string => {
  const pairs: [string, string][] = [];
  const state = c.state;
  if (state.kind === 'real' && real !== null) pairs.push(['state', encode(real)]);
  if (state.kind === 'real twice' && real !== null)
    pairs.push(['state', encode(real)], ['state', encode(real)]);
  if (state.kind === 'real and more' && real !== null)
    pairs.push(['state', `${encode(real)}${state.more}`]);
  if (state.kind === 'forged') pairs.push(['state', state.value]);
  if (c.code !== null) pairs.push(['code', c.code]);
  if (c.error !== null) pairs.push(['error', c.error]);
  pairs.push(...c.extra.map(([name, value]): [string, string] => [name, value]));
  return `/auth/${c.provider}/callback${queryOf(pairs)}`;
};

// 2. Providers answering with what no provider should.

export interface HostileCase {
  provider: ProviderName;
  /** The id (GitHub `id`, Google `sub`): a value, or left out of the profile. */
  id: { value: unknown } | 'missing';
  /** Other profile fields, replacing the stand-in's (undefined removes one). */
  fields: Record<string, unknown>;
  /** A whole profile answer in place of the stand-in's (never a usable one). */
  rawProfile: RawAnswer | null;
  /** A whole email list in place of GitHub's (never makes a sign-in fail). */
  rawEmails: RawAnswer | null;
  faults: Pick<DevFaults, 'token' | 'profile' | 'emails' | 'githubIdAsString'>;
}

// Text of every kind, as a name or a login: long, controls, direction overrides, other types.
const nameValue = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(201, 5_000, 300_000).map((n) => `\u202e${'n'.repeat(n)}`),
  },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const idValue = fc.oneof(
  // Usable ones.
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.nat() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, '007', 'x'.repeat(256)),
  },
  // Not ids.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      null,
      true,
      {},
      [],
      ['1'],
      { id: 1 },
      -5,
      1.5,
      2 ** 60,
      1e21,
      '',
      'a\u0000b',
      'a\u007fb',
      'a\u0085b',
      '\ud800',
      'x'.repeat(257),
      '😀'.repeat(257),
      'line\nbreak',
    ),
  },
  // Anything: the oracle decides.
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: anyJson },
);

const rawJson = (body: string): RawAnswer => ({ body });

const rawProfile: fc.Arbitrary<RawAnswer> = fc.oneof(
  fc
    .constantFrom('[]', '"a string"', 'null', '42', 'true', '', '{"id":', '{"id":1}{}')
    .map(rawJson),
  fc.constant<RawAnswer>({ body: '<html>maintenance</html>', contentType: 'text/html' }),
  fc.constant<RawAnswer>({
    body: JSON.stringify({ id: 7, name: 'x'.repeat(1_000_001) }),
  }),
  fc.array(anyJson, { maxLength: 3 }).map((value) => rawJson(JSON.stringify(value))),
);

const emailEntry = fc.record(
  {
    email: fc.oneof(emailish(['fuzz.one@example.com']), anyJson),
    primary: fc.oneof(fc.boolean(), anyJson),
    verified: fc.oneof(fc.boolean(), fc.constantFrom('true', 1), anyJson),
    visibility: fc.oneof(fc.constantFrom('public', 'private', null), anyJson),
  },
  { requiredKeys: [] },
);

const rawEmails: fc.Arbitrary<RawAnswer> = fc.oneof(
  fc.array(emailEntry, { maxLength: 4 }).map((list) => rawJson(JSON.stringify(list))),
  fc.constantFrom('null', '{}', '"a@b.c"', '[null, 1, "x"]', 'not json', '').map(rawJson),
  fc.constant<RawAnswer>({ status: 500, body: 'upstream trouble' }),
  fc.constant<RawAnswer>({
    body: JSON.stringify(
      Array.from({ length: 20_000 }, (_, i) => ({ email: `e${i}@example.com` })),
    ),
  }),
);

const faults = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        token: fc.constantFrom('http-400', 'error-in-200', 'http-500', 'not-json'),
        profile: fc.constantFrom('http-401', 'http-500', 'not-json'),
        emails: fc.constantFrom('empty', 'http-500', 'not-json'),
        githubIdAsString: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  },
);

const PROFILE_FIELDS: Record<ProviderName, Record<string, fc.Arbitrary<unknown>>> = {
  github: {
    name: nameValue,
    login: nameValue,
    email: fc.oneof(emailish(['fuzz.browser@example.com']), anyJson),
  },
  google: {
    name: nameValue,
    given_name: nameValue,
    email: fc.oneof(emailish(['fuzz.browser@example.com']), anyJson),
    email_verified: fc.oneof(fc.boolean(), fc.constantFrom('true', 1), anyJson),
  },
};

export const hostileCase: fc.Arbitrary<HostileCase> = fc
  .constantFrom<ProviderName>('github', 'google')
  .chain((provider) =>
    fc.record({
      provider: fc.constant(provider),
      id: fc.oneof(
        { weight: 8, arbitrary: idValue.map((value) => ({ value })) },
        { weight: 1, arbitrary: fc.constant('missing' as const) },
      ),
      fields: fc.record<Record<string, unknown>>(PROFILE_FIELDS[provider], {
        requiredKeys: [],
      }),
      rawProfile: sometimes(rawProfile, 8),
      rawEmails: provider === 'github' ? sometimes(rawEmails, 3) : fc.constant(null),
      faults,
    }),
  );

/**
 * Whether the README's rule makes this a usable id: a string of 1 to 256 characters,
 * well-formed, without control characters; or a non-negative safe integer.
 */
export const usableId = (id: unknown): boolean =>
  typeof id === 'string'
    ? id.length > 0 && [...id].length <= 256 && !/[\p{Cc}\p{Cs}]/u.test(id)
    : typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;

/** Whether a sign-in with this case must fail at the provider's side (a 502). */
export const mustFail = (c: HostileCase): boolean =>
  c.rawProfile !== null ||
  c.faults.token !== undefined ||
  c.faults.profile !== undefined ||
  c.id === 'missing' ||
  !usableId(JSON.parse(JSON.stringify({ id: c.id.value })).id);

// 3. The pages and forms of the browser side.

export interface PageCase {
  session: 'none' | 'anonymous' | 'signed-in';
  method: string;
  path: string;
  csrf: 'page' | 'none' | 'forged';
  fields: Record<string, unknown>;
  encoding: 'form' | 'json' | 'text' | 'none';
}

export const PAGE_ROUTES: [string, string][] = [
  ['GET', '/'],
  ['GET', '/account'],
  ['GET', '/auth/session'],
  ['GET', '/auth/confirm'],
  ['GET', '/account/merge'],
  ['GET', '/auth/github/link'],
  ['POST', '/auth/confirm/cancel'],
  ['POST', '/auth/password'],
  ['POST', '/auth/register'],
  ['POST', '/auth/logout'],
  ['POST', '/account/unlink'],
  ['POST', '/account/password'],
  ['POST', '/auth/github/link'],
  ['POST', '/auth/google/merge'],
  ['POST', '/auth/gitlab/link'],
  ['POST', '/account/merge'],
  ['POST', '/account/merge/password'],
  ['POST', '/account/merge/cancel'],
];

const formValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9._-]{3,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('github', 'google', 'correct horse battery') },
  { weight: 2, arbitrary: hostileString },
);

export const pageCase = (usernames: string[]): fc.Arbitrary<PageCase> =>
  fc
    .record({
      session: fc.constantFrom('none', 'anonymous', 'signed-in'),
      route: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...PAGE_ROUTES) },
        {
          weight: 1,
          arbitrary: fc.tuple(
            fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
            fc
              .array(
                fc.oneof(
                  fc.constantFrom(
                    'auth',
                    'account',
                    'github',
                    'callback',
                    'merge',
                    'dev-oauth',
                  ),
                  hostileString.map(encode),
                  fc.constantFrom(...RAW_SEGMENTS),
                ),
                { maxLength: 4 },
              )
              .map((parts) => `/${parts.join('/')}`),
          ),
        },
      ),
      csrf: fc.constantFrom('page', 'page', 'page', 'none', 'forged'),
      fields: fc.record(
        {
          username: fc.oneof(formValue, fc.constantFrom(...usernames)),
          password: formValue,
          currentPassword: formValue,
          email: fc.oneof(formValue, emailish(['fuzz.browser@example.com'])),
          provider: formValue,
          subject: formValue,
          mergedId: fc.oneof(formValue, fc.uuid()),
          extra: formValue,
        },
        { requiredKeys: [] },
      ),
      encoding: fc.constantFrom('form', 'form', 'form', 'json', 'text', 'none'),
    })
    .map(({ route, ...rest }) => ({ ...rest, method: route[0], path: route[1] }));
