import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { ErrorCode } from '../domain/errors.js';
import { STATUS_OF } from './problems.js';
import {
  AuditEvent,
  CommandAnswer,
  IdentityView,
  MinPosition,
  ProblemSchema,
  ProviderName,
  TrimmedEmail,
  UserId,
  UserView,
  commandSchemas,
  type CommandName,
} from './schemas.js';

type Responses = Parameters<OpenAPIRegistry['registerPath']>[0]['responses'];

const problems = (codes: ErrorCode[]): Responses => {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = STATUS_OF[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: list.join(', '),
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  );
};

const TRACE_HEADERS = {
  'X-Request-Id': {
    description: 'The request id: yours when it is a plain token, else new',
  },
  'X-Correlation-Id': { description: 'The correlation id, recorded in the events' },
};

// Every API route: who may call, and what can always go wrong.
const ALWAYS: ErrorCode[] = [
  'unauthorized',
  'forbidden',
  'method-not-allowed',
  'internal',
];
const BODY: ErrorCode[] = [
  'malformed-json',
  'unsupported-media-type',
  'payload-too-large',
  'validation-failed',
  'idempotency-key-reused',
  'unavailable',
];
const ON_A_USER: ErrorCode[] = [
  'user-not-found',
  'user-merged',
  'user-erased',
  'revision-mismatch',
];

const REFUSALS: Record<CommandName, ErrorCode[]> = {
  'register-local-user': ['username-taken'],
  'register-via-provider': [
    'identity-already-linked',
    'provider-already-linked',
    'email-belongs-to-existing-user',
  ],
  'link-provider': [...ON_A_USER, 'identity-already-linked', 'provider-already-linked'],
  'unlink-provider': [...ON_A_USER, 'identity-not-linked', 'last-sign-in-method'],
  'merge-users': [...ON_A_USER, 'provider-already-linked'],
  'erase-user': ['user-not-found', 'user-merged', 'revision-mismatch'],
};

const SUMMARIES: Record<CommandName, string> = {
  'register-local-user': 'Create a user who signs in with a username and password',
  'register-via-provider': 'Create a user from a provider identity (user creation)',
  'link-provider': 'Link a provider identity to an existing user (user association)',
  'unlink-provider': 'Unlink an identity; the last sign-in method cannot be removed',
  'merge-users': 'Move every identity of the merged user to the survivor',
  'erase-user': 'Erase a user: release its identities, forget its personal data',
};

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export const openApiDocument = (): object => {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'serviceToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A secret from SERVICE_TOKENS, with the scope the route needs',
  });
  const security = [{ serviceToken: [] }];
  const minPosition = z.object({ minPosition: MinPosition });

  // 1. Commands.
  for (const name of Object.keys(commandSchemas) as CommandName[]) {
    const registers = name.startsWith('register');
    const answer = (description: string) => ({
      description,
      headers: {
        ...TRACE_HEADERS,
        'Idempotent-Replayed': { description: '"true" when the answer is a stored one' },
      },
      content: { 'application/json': { schema: CommandAnswer } },
    });
    registry.registerPath({
      method: 'post',
      path: `/api/commands/${name}`,
      tags: ['commands'],
      summary: SUMMARIES[name],
      security,
      request: {
        headers: z.object({
          'Idempotency-Key': z
            .string()
            .min(1)
            .max(255)
            .regex(/^[\x21-\x7e]+$/)
            .optional()
            .meta({ description: 'Repeats of this request get the first final answer' }),
          ...(registers
            ? {}
            : {
                'If-Match': z
                  .string()
                  .optional()
                  .meta({ description: 'The user\'s revision, "3" or W/"3"' }),
              }),
        }),
        body: { content: { 'application/json': { schema: commandSchemas[name] } } },
      },
      responses: {
        200: answer(
          registers ? 'Linked to an existing user instead' : 'Done, or nothing to do',
        ),
        ...(registers ? { 201: answer('A user was created') } : {}),
        ...problems([...ALWAYS, ...BODY, ...REFUSALS[name]]),
      },
    });
  }

  // 2. Queries, audit and tokens.
  const get = (
    path: string,
    tag: string,
    request: Parameters<OpenAPIRegistry['registerPath']>[0]['request'],
    schema: z.ZodType,
    codes: ErrorCode[],
    description: string,
    headers: Record<string, { description: string }> = {},
  ) =>
    registry.registerPath({
      method: 'get',
      path,
      tags: [tag],
      description,
      security,
      request,
      responses: {
        200: {
          description: 'Found',
          headers: { ...TRACE_HEADERS, ...headers },
          content: { 'application/json': { schema } },
        },
        ...problems([...ALWAYS, 'validation-failed', ...codes]),
      },
    });

  get(
    '/api/users/{userId}',
    'queries',
    { params: z.object({ userId: UserId }), query: minPosition },
    UserView,
    ['user-not-found', 'projection-lagging'],
    'A user and its connections. Scope `queries`, or a session for its own user.',
    { ETag: { description: 'The user\'s revision, weak: W/"3"' } },
  );
  get(
    '/api/users',
    'queries',
    { query: z.object({ email: TrimmedEmail, minPosition: MinPosition }) },
    z.object({ users: z.array(UserView) }),
    ['projection-lagging'],
    'Active users with this email (trimmed; ASCII letters match in either case, other characters exactly). Scope `queries`.',
  );
  const subject = z.string().meta({
    description: 'The provider id: 1 to 256 characters, no control characters',
  });
  get(
    '/api/identities/{provider}/{subject}',
    'queries',
    { params: z.object({ provider: ProviderName, subject }), query: minPosition },
    IdentityView,
    ['identity-not-found', 'projection-lagging'],
    'Who holds an identity. Scope `queries`.',
  );
  get(
    '/api/identities',
    'queries',
    { query: z.object({ provider: ProviderName, subject, minPosition: MinPosition }) },
    IdentityView,
    ['identity-not-found', 'projection-lagging'],
    'Who holds an identity, for subjects a path cannot carry (such as ".."). Scope `queries`.',
  );
  get(
    '/api/audit/users/{userId}/events',
    'audit',
    { params: z.object({ userId: UserId }) },
    z.object({ events: z.array(AuditEvent) }),
    ['user-not-found'],
    "The user's events and the related identity events, in log order, read from the log. " +
      'Scope `audit`, or a session for its own user.',
  );
  get(
    '/api/audit/users/{userId}/state',
    'audit',
    {
      params: z.object({ userId: UserId }),
      query: z.object({ at: z.iso.datetime({ offset: true }) }),
    },
    UserView,
    ['user-not-found'],
    'The user as it was at that instant (inclusive), replayed from the log. Scope `audit`.',
  );
  const Holding = z
    .object({
      userId: UserId.nullable(),
      from: z.iso.datetime(),
      to: z.iso.datetime().nullable().meta({ description: 'null while it lasts' }),
      purpose: z.enum(['register', 'link', 'merge', 'unowned']),
      previousUserId: UserId.nullable().meta({ description: 'For a merge: moved from' }),
      ended: z
        .string()
        .nullable()
        .meta({ description: 'unlinked, erased, abandoned, merged, or taken over' }),
    })
    .meta({ id: 'Holding' });
  const IdentityHistory = z.object({
    provider: ProviderName,
    subject: z.string(),
    holders: z.array(Holding),
  });
  get(
    '/api/audit/identities/{provider}/{subject}',
    'audit',
    { params: z.object({ provider: ProviderName, subject }) },
    IdentityHistory,
    ['identity-not-found'],
    'Who has held an identity, from when to when, read from the log. Scope `audit`.',
  );
  get(
    '/api/audit/identities',
    'audit',
    { query: z.object({ provider: ProviderName, subject }) },
    IdentityHistory,
    ['identity-not-found'],
    'The same, for subjects a path cannot carry. Scope `audit`.',
  );
  get(
    '/api/audit/verify',
    'audit',
    {},
    z.object({
      events: z.number().int(),
      users: z.number().int(),
      identities: z.number().int().meta({ description: 'Identities held at the end' }),
      ok: z.boolean(),
      violations: z.array(
        z.object({
          invariant: z.enum([
            'one-holder',
            'claim-backed',
            'sign-in-method',
            'after-the-end',
            'per-provider',
          ]),
          message: z.string(),
          stream: z.string(),
          revision: z.number().int(),
          position: z.string(),
          type: z.string(),
        }),
      ),
    }),
    [],
    'Replays the whole log and reports every event that broke an invariant of the ' +
      "design. Reads the whole log: an operator's report, not a health check. Scope `audit`.",
  );
  registry.registerPath({
    method: 'get',
    path: '/api/audit/export',
    tags: ['audit'],
    description:
      'The log as JSON lines (one event per line, in log order, secrets left out), after ' +
      'the position `since` if given. Scope `audit`.',
    security,
    request: { query: z.object({ since: MinPosition }) },
    responses: {
      200: {
        description: 'Events, one JSON object per line',
        content: { 'application/x-ndjson': { schema: AuditEvent } },
      },
      ...problems([...ALWAYS, 'validation-failed']),
    },
  });
  get(
    '/api/users/{userId}/connections/{provider}/token',
    'tokens',
    {
      params: z.object({ userId: UserId, provider: ProviderName }),
      query: z.object({ subject: subject.optional() }),
    },
    z.object({
      provider: z.string(),
      subject: z.string(),
      accessToken: z.string(),
      scopes: z.array(z.string()),
      expiresAt: z.iso.datetime().nullable(),
    }),
    [
      'user-not-found',
      'user-merged',
      'user-erased',
      'identity-not-found',
      'not-found',
      'reauthentication-required',
    ],
    'The current access token of a connection, refreshed first when it has expired. Scope `tokens`.',
  );

  // 3. Operations (no credentials).
  for (const [path, description] of [
    ['/healthz', 'The process is up'],
    [
      '/readyz',
      'The log is replayed and half-done work from before the start is settled',
    ],
  ] as const) {
    registry.registerPath({
      method: 'get',
      path,
      tags: ['operations'],
      description,
      responses: {
        200: {
          description: 'Yes',
          content: { 'application/json': { schema: z.object({ status: z.string() }) } },
        },
        ...(path === '/readyz' ? problems(['unavailable']) : {}),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    description: 'Prometheus metrics',
    responses: {
      200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } },
    },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'account-links',
      version: '0.1.0',
      description:
        'Event-sourced account linking. Errors are RFC 9457 problem documents with a ' +
        'stable code. Commands accept Idempotency-Key; If-Match takes "<revision>".',
    },
    servers: [{ url: '/' }],
  });
};
