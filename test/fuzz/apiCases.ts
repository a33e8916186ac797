import fc from 'fast-check';
import { AUDITOR, READER, TOKEN } from '../support/service.js';
import {
  CONTENT_TYPES,
  anyJson,
  encode,
  emailish,
  field,
  headerValue,
  hostileString,
  minPositionPairs,
  oddBody,
  queryOf,
  queryValue,
  segment,
  sometimes,
  type BodySpec,
} from './arbitraries.js';

/** A request to the API, as generated: printed as it is when a property fails. */
export interface ApiCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: BodySpec;
  /** The body's content type; null sends none at all. */
  contentType?: string | null;
  /** Sent twice (with an Idempotency-Key, the second must be the first's answer). */
  repeat?: boolean;
}

/** What the service holds before the fuzzing starts, for requests that find something. */
export interface ApiWorld {
  userIds: string[];
  subjects: string[];
  emails: string[];
  usernames: string[];
  vaultToken: string;
  /** A signed-in browser: its cookie and CSRF token. */
  session: { cookie: string; csrf: string };
}

// The README's commands, written out rather than imported: the contract, not the code.
export const COMMANDS = [
  'register-local-user',
  'register-via-provider',
  'link-provider',
  'unlink-provider',
  'merge-users',
  'erase-user',
] as const;

const METHODS = ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'GET'];

/** The generators of every kind of API request, over what the service holds. */
export const apiCases = (world: ApiWorld) => {
  const { userIds, subjects, emails, usernames } = world;

  // 1. Who calls: usually a token with the route's scope, sometimes anyone else.
  const caller = (usual: string): fc.Arbitrary<Record<string, string>> =>
    fc.oneof(
      { weight: 40, arbitrary: fc.constant({ authorization: `Bearer ${usual}` }) },
      {
        weight: 2,
        arbitrary: fc.constantFrom<Record<string, string>>(
          {},
          { authorization: `Bearer ${TOKEN}` },
          { authorization: `Bearer ${READER}` },
          { authorization: `Bearer ${AUDITOR}` },
          { authorization: `Bearer ${world.vaultToken}` },
          { authorization: `bearer   ${usual}  ` },
          { authorization: `Bearer ${usual}x` },
          { authorization: `Bearer ${usual} ${usual}` },
          { authorization: `Basic ${Buffer.from(`a:${usual}`).toString('base64')}` },
          { authorization: 'Bearer' },
        ),
      },
      { weight: 1, arbitrary: headerValue.map((value) => ({ authorization: value })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Record<string, string>>(
          { cookie: world.session.cookie },
          { cookie: world.session.cookie, 'x-csrf-token': world.session.csrf },
          { cookie: world.session.cookie, 'x-csrf-token': 'forged' },
        ),
      },
    );

  const extraHeaders = fc.record(
    {
      'x-request-id': headerValue,
      'x-correlation-id': headerValue,
      accept: fc.oneof(
        fc.constantFrom('application/json', 'text/html', '*/*', 'image/png'),
        headerValue,
      ),
    },
    { requiredKeys: [] },
  );

  const withCaller = (
    usual: string,
    request: fc.Arbitrary<{ method: string; path: string }>,
  ): fc.Arbitrary<ApiCase> =>
    fc
      .tuple(request, caller(usual), extraHeaders)
      .map(([{ method, path }, who, extra]) => ({
        method,
        path,
        headers: { ...extra, ...who },
      }));

  const method = (usual: string) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(usual) },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    );

  // 2. Field values.
  const userId = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...userIds) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: hostileString },
  );
  const provider = fc.oneof(
    { weight: 16, arbitrary: fc.constantFrom('github', 'google') },
    { weight: 1, arbitrary: fc.constantFrom('GitHub', 'gitlab', ' github', '') },
    { weight: 1, arbitrary: hostileString },
  );
  const subject = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...subjects) },
    { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
    { weight: 1, arbitrary: fc.nat() },
    { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 53, 0, '0', ' 1') },
    { weight: 1, arbitrary: hostileString },
  );
  const email = emailish(emails);
  const profile = fc.record(
    {
      displayName: field(
        fc.oneof(
          { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
          { weight: 1, arbitrary: hostileString },
          { weight: 1, arbitrary: fc.constant(null) },
        ),
      ),
      email: field(fc.oneof(email, fc.constant(null))),
      emailVerified: field(fc.boolean()),
    },
    { requiredKeys: [] },
  );
  const username = fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9._-]{3,20}$/) },
    { weight: 2, arbitrary: fc.constantFrom(...usernames) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'ab',
        'a'.repeat(65),
        ` ${usernames[0]} `,
        usernames[0]!.toUpperCase(),
        // Full-width letters: the same username after NFKC.
        [...usernames[0]!]
          .map((c) =>
            /[a-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c,
          )
          .join(''),
      ),
    },
    { weight: 1, arbitrary: hostileString },
  );
  const password = fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength: 8, maxLength: 30 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'short',
        ' '.repeat(12),
        'x'.repeat(1025),
        '\ud800'.repeat(9),
      ),
    },
    { weight: 1, arbitrary: hostileString },
  );

  // 3. Command bodies: near the contract, with fields missing, extra or of another kind.
  const fields: Record<
    (typeof COMMANDS)[number],
    Record<string, fc.Arbitrary<unknown>>
  > = {
    'register-local-user': { username, password, email },
    'register-via-provider': { provider, subject, profile },
    'link-provider': { userId, provider, subject, profile },
    'unlink-provider': { userId, provider, subject },
    'merge-users': { survivorId: userId, mergedId: userId },
    'erase-user': { userId },
  };

  // Every field, but now and then one left out or one too many.
  const commandBody = (name: (typeof COMMANDS)[number]): fc.Arbitrary<BodySpec> =>
    fc
      .tuple(
        fc.record(
          Object.fromEntries(
            Object.entries(fields[name]).map(([key, value]) => [key, field(value)]),
          ),
        ),
        sometimes(fc.constantFrom(...Object.keys(fields[name])), 8),
        sometimes(fc.tuple(hostileString, anyJson), 8),
      )
      .map(([body, left, extra]) => {
        const value: Record<string, unknown> = { ...body };
        if (left !== null) delete value[left];
        if (extra) value[extra[0]] = extra[1];
        return { kind: 'json' as const, value };
      });

  const oddName = fc.oneof(
    fc.constantFrom(
      '',
      'REGISTER-LOCAL-USER',
      'erase-user%20',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
      'set-password',
      '%2e%2e',
      'erase-user%2F..',
      'erase-user/x',
      '%ZZ',
      '%ED%A0%80',
    ),
    hostileString.map(encode),
  );

  const ifMatch = fc.oneof(
    fc.nat({ max: 12 }).map((n) => `"${n}"`),
    fc.nat({ max: 12 }).map((n) => `W/"${n}"`),
    fc.constantFrom('*', '"-1"', '"1e3"', '"999999999999999"', '"9999999999999999"', '3'),
    headerValue,
  );
  const idempotencyKey = fc.oneof(
    // Now and then a key used before, mostly with another request.
    { weight: 4, arbitrary: fc.nat({ max: 300 }).map((n) => `key-${n}`) },
    { weight: 1, arbitrary: headerValue },
  );

  const commands: fc.Arbitrary<ApiCase> = fc
    .oneof(
      { weight: 10, arbitrary: fc.constantFrom(...COMMANDS) },
      { weight: 1, arbitrary: oddName },
    )
    .chain((name) =>
      fc.record({
        name: fc.constant(name),
        method: method('POST'),
        body: (COMMANDS as readonly string[]).includes(name)
          ? fc.oneof(
              { weight: 8, arbitrary: commandBody(name as (typeof COMMANDS)[number]) },
              { weight: 1, arbitrary: oddBody },
            )
          : oddBody,
        contentType: fc.oneof(
          { weight: 20, arbitrary: fc.constant('application/json') },
          { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
          { weight: 1, arbitrary: fc.constant(null) },
        ),
        key: sometimes(idempotencyKey, 3),
        ifMatch: sometimes(ifMatch, 6),
        who: caller(TOKEN),
        extra: extraHeaders,
        repeat: fc.boolean(),
      }),
    )
    .map(({ name, method, body, contentType, key, ifMatch, who, extra, repeat }) => ({
      method,
      path: `/api/commands/${name}`,
      headers: {
        ...extra,
        ...who,
        ...(key === null ? {} : { 'idempotency-key': key }),
        ...(ifMatch === null ? {} : { 'if-match': ifMatch }),
      },
      ...(['GET', 'HEAD'].includes(method) ? {} : { body, contentType }),
      repeat,
    }));

  // 4. Queries, audit and token routes: odd path segments, query strings, positions.
  const users = segment([...userIds, 'not-a-uuid']);
  const providers = segment(['github', 'google', 'gitlab']);
  const subjectSegment = segment(subjects.map(String));
  const pairs = (
    ...parts: fc.Arbitrary<[string, string][]>[]
  ): fc.Arbitrary<[string, string][]> => fc.tuple(...parts).map((lists) => lists.flat());
  const maybe = (name: string, value: fc.Arbitrary<string>) =>
    fc
      .option(value, { freq: 4 })
      .map((v): [string, string][] => (v === null ? [] : [[name, v]]));
  const at = fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom(
      '2030-01-01T00:00:00Z',
      '2030-01-01T00:00:00+25:00',
      '2020-13-45T00:00:00Z',
      '+275760-09-13T00:00:00.000Z',
      'yesterday',
      '1',
    ),
  );

  const queries = withCaller(
    READER,
    fc.oneof(
      fc.tuple(method('GET'), users, minPositionPairs).map(([m, id, q]) => ({
        method: m,
        path: `/api/users/${id}${queryOf(q)}`,
      })),
      fc
        .tuple(
          method('GET'),
          pairs(maybe('email', queryValue(email)), maybe('email', queryValue(email))),
          minPositionPairs,
        )
        .map(([m, e, q]) => ({ method: m, path: `/api/users${queryOf([...e, ...q])}` })),
      fc
        .tuple(method('GET'), providers, subjectSegment, minPositionPairs)
        .map(([m, p, s, q]) => ({
          method: m,
          path: `/api/identities/${p}/${s}${queryOf(q)}`,
        })),
      fc
        .tuple(
          method('GET'),
          pairs(
            maybe('provider', queryValue(fc.constantFrom('github', 'google'))),
            maybe('subject', queryValue(fc.constantFrom(...subjects.map(String)))),
            minPositionPairs,
          ),
        )
        .map(([m, q]) => ({ method: m, path: `/api/identities${queryOf(q)}` })),
    ),
  );

  const audit = withCaller(
    AUDITOR,
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.tuple(method('GET'), users).map(([m, id]) => ({
          method: m,
          path: `/api/audit/users/${id}/events`,
        })),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(method('GET'), users, maybe('at', queryValue(at)))
          .map(([m, id, q]) => ({
            method: m,
            path: `/api/audit/users/${id}/state${queryOf(q)}`,
          })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(method('GET'), providers, subjectSegment)
          .map(([m, p, s]) => ({
            method: m,
            path: `/api/audit/identities/${p}/${s}`,
          })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            method('GET'),
            pairs(
              maybe('provider', queryValue(fc.constantFrom('github', 'google'))),
              maybe('subject', queryValue(fc.constantFrom(...subjects.map(String)))),
            ),
          )
          .map(([m, q]) => ({ method: m, path: `/api/audit/identities${queryOf(q)}` })),
      },
      {
        weight: 1,
        arbitrary: method('GET').map((m) => ({ method: m, path: '/api/audit/verify' })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            method('GET'),
            maybe('since', queryValue(fc.nat({ max: 50 }).map(String))),
          )
          .map(([m, q]) => ({ method: m, path: `/api/audit/export${queryOf(q)}` })),
      },
    ),
  );

  const tokens = withCaller(
    world.vaultToken,
    fc
      .tuple(
        method('GET'),
        // The first user holds a GitHub token: half the requests ask for it.
        fc.oneof(fc.constant(userIds[0]!), users),
        fc.oneof(fc.constant('github'), providers),
        sometimes(queryValue(subject.map(String)), 4).map((v): [string, string][] =>
          v === null ? [] : [['subject', v]],
        ),
      )
      .map(([m, id, p, q]) => ({
        method: m,
        path: `/api/users/${id}/connections/${p}/token${queryOf(q)}`,
      })),
  );

  // 5. Anywhere else under /api.
  const elsewhere = withCaller(
    TOKEN,
    fc
      .tuple(
        fc.constantFrom(...METHODS),
        fc.array(segment(['commands', 'users', 'identities', 'audit', 'connections']), {
          maxLength: 5,
        }),
      )
      .map(([m, parts]) => ({ method: m, path: `/api/${parts.join('/')}` })),
  );

  return { commands, queries, audit, tokens, elsewhere };
};
